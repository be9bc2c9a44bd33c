/** What every command folder exports, and the shared pieces of their results. */
import type { ParseArgsConfig } from "node:util";
import type { HealthReport } from "../infra/health/check";
import type { Output } from "./output";

export interface CommandContext {
  readonly output: Output;
  /** Positional arguments after the command name. */
  readonly args: readonly string[];
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
}

export interface Command {
  readonly name: string;
  /** `exoform <usage>` */
  readonly usage: string;
  readonly summary: string;
  /** Flags of this command besides the global ones (--json, --help). */
  readonly options?: ParseArgsConfig["options"];
  run(ctx: CommandContext): Promise<void>;
}

/** The `[stack]` argument: `local` when omitted. */
export function stackArg(ctx: CommandContext): string {
  return ctx.args[0] ?? "local";
}

/** One instance as the program exports it (stack output `instances`). */
export interface InstanceOutput {
  readonly name: string;
  readonly url: string;
  readonly network: "netns" | "user";
  readonly netns?: string;
  readonly pingAddress?: string;
  readonly pid: number;
  readonly serialLog: string;
  readonly pidFile: string;
  readonly health: HealthReport;
}

/** Lines describing an instance and its health report, shared by `up` and `check`. */
export function describeInstance(
  i: Pick<InstanceOutput, "name" | "url" | "netns" | "pid">,
  report: HealthReport,
): string[] {
  const where = i.netns ? `in netns ${i.netns}` : "via QEMU user-mode networking";
  const lines = [`  ${i.name}  ${i.url}  ${where} (pid ${i.pid})`];
  const { icmp, http } = report;
  if (icmp.status === "skipped") {
    lines.push(`    ping  skipped: ${icmp.reason}`);
  } else if (icmp.stats) {
    const s = icmp.stats;
    lines.push(
      `    ping  ${icmp.status}: ${s.received}/${s.sent} replies (${s.lossPercent}% loss), rtt avg ${s.rttAvgMs ?? "-"} ms, max ${s.rttMaxMs ?? "-"} ms; first reply ${seconds(icmp.firstReplyMs)} after start`,
    );
  } else {
    lines.push(`    ping  ${icmp.status}`);
  }
  if (http.latencyMaxMs !== undefined) {
    lines.push(
      `    http  ${http.status}: GET /health 200, build ${report.expectedBuild.slice(0, 16)}…, latency avg ${http.latencyAvgMs} ms, max ${http.latencyMaxMs} ms; first 200 ${seconds(http.firstOkMs)} after start`,
    );
  } else {
    lines.push(`    http  ${http.status}`);
  }
  for (const f of report.failures) lines.push(`    ${f.probe} failure: ${f.error}`);
  return lines;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? "-" : `${(ms / 1000).toFixed(2)} s`;
}
