/**
 * Health checks, one module for every target: `checkHealth` runs the probes (inside the
 * instance's network namespace when the spec names one) and returns a report; `assertHealthy`
 * turns an unhealthy report into an error naming the probe, its last error and the tail of the
 * instance's console log (when the target keeps one). Imports nothing from any target.
 */
import { spawn } from "node:child_process";
import { scrubbedEnv } from "../../lib/child-env";
import * as path from "node:path";
import { consoleTail, readConsoleLines } from "../../lib/console";
import { EventSink, PhaseEventSchema } from "../../lib/events";
import { projectDirFor } from "../project-modules";
import {
  HealthCheckError,
  HealthCheckSpec,
  HealthReport,
  HealthReportSchema,
  runHealthCheck,
} from "./check";

export * from "./check";

export async function checkHealth(
  spec: HealthCheckSpec,
  onEvent: EventSink = () => undefined,
): Promise<HealthReport> {
  return spec.netns ? runInNetns(spec, spec.netns, onEvent) : runHealthCheck(spec, onEvent);
}

/**
 * The tail of the spec's console log for failure messages, if the target keeps one; a relative
 * path is relative to the project directory (infra/project-modules.ts).
 */
export function consoleTailOf(
  spec: Pick<HealthCheckSpec, "consoleLogPath">,
): { source: string; lines: string } | undefined {
  if (!spec.consoleLogPath) return undefined;
  const file = path.resolve(projectDirFor("infra/health/index.js"), spec.consoleLogPath);
  return { source: spec.consoleLogPath, lines: consoleTail(readConsoleLines(file)) };
}

/** The report when healthy; otherwise throws HealthCheckError (probes + console tail). */
export function assertHealthy(report: HealthReport, spec: HealthCheckSpec): HealthReport {
  if (report.healthy) return report;
  throw new HealthCheckError(report, consoleTailOf(spec));
}

/**
 * Node has no setns(): the probes run in a child started by `ip netns exec`, which reads the
 * spec on stdin, writes phase events as JSON lines on stderr and the report on stdout. Both
 * directions are validated (zod): a malformed line is reported, never trusted.
 */
function runInNetns(
  spec: HealthCheckSpec,
  netns: string,
  onEvent: EventSink,
): Promise<HealthReport> {
  const entry = path.join(__dirname, "in-netns.js");
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", netns, process.execPath, entry], {
      stdio: ["pipe", "pipe", "pipe"],
      env: scrubbedEnv(),
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
        const event = parseJson(line, PhaseEventSchema);
        if (event) onEvent(event);
        else stderr += line + "\n";
      }
    });
    child.on("error", (e) => reject(new Error(`cannot run ip netns exec: ${e.message}`)));
    child.on("close", (code) => {
      const report = code === 0 ? parseJson(stdout, HealthReportSchema) : undefined;
      if (report) return resolve(report);
      reject(
        new Error(
          `health probes in netns ${netns} exited ${code}${code === 0 ? " without a valid report" : ""}: ${(stderr + pending).trim()}`,
        ),
      );
    });
    child.stdin.end(JSON.stringify(spec));
  });
}

function parseJson<T>(
  text: string,
  schema: { safeParse(v: unknown): { success: boolean; data?: T } },
): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
