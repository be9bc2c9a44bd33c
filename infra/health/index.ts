/**
 * Health checks, one module for every target: `checkHealth` runs the probes (inside the
 * instance's network namespace when it has one) and returns a report; `assertHealthy` turns an
 * unhealthy report into an error naming the probe, its last error and the serial log's tail.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { EventSink, PhaseEvent } from "../../lib/events";
import { HealthCheckError, HealthCheckSpec, HealthReport, readTail, runHealthCheck } from "./check";

export * from "./check";

export async function checkHealth(
  spec: HealthCheckSpec,
  onEvent: EventSink = () => undefined,
): Promise<HealthReport> {
  return spec.netns ? runInNetns(spec, spec.netns, onEvent) : runHealthCheck(spec, onEvent);
}

export function assertHealthy(report: HealthReport, spec: HealthCheckSpec): HealthReport {
  if (report.healthy) return report;
  const lines = spec.serialLogPath ? readTail(spec.serialLogPath) : undefined;
  throw new HealthCheckError(
    report,
    lines !== undefined && spec.serialLogPath ? { path: spec.serialLogPath, lines } : undefined,
  );
}

/** Node has no setns(): the probes run in a child started by `ip netns exec`. */
function runInNetns(
  spec: HealthCheckSpec,
  netns: string,
  onEvent: EventSink,
): Promise<HealthReport> {
  const entry = path.join(__dirname, "in-netns.js");
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", netns, process.execPath, entry], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      pending += d.toString();
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          onEvent(JSON.parse(line) as PhaseEvent);
        } catch {
          stderr += line + "\n";
        }
      }
    });
    child.on("error", (e) => reject(new Error(`cannot run ip netns exec: ${e.message}`)));
    child.on("close", (code) => {
      if (code === 0) return resolve(JSON.parse(stdout) as HealthReport);
      reject(
        new Error(`health probes in netns ${netns} exited ${code}: ${(stderr + pending).trim()}`),
      );
    });
    child.stdin.end(JSON.stringify(spec));
  });
}
