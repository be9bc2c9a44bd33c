/** What every command folder exports, and the shared pieces of their results. */
import type { ParseArgsConfig } from "node:util";
import { consoleLines, consoleTail } from "../lib/console";
import { consoleTailOf } from "../infra/health";
import type { HealthReport } from "../infra/health/check";
import type { InstanceOutput, StackOutputs } from "../infra/outputs";
import { findTarget, Target } from "../infra/targets";
import { CliError, ExitCode } from "./exit-codes";
import type { Output } from "./output";
import { validStackName } from "./stack";

export interface CommandContext {
  readonly output: Output;
  /** Positional arguments after the command name. */
  readonly args: readonly string[];
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  /** --json was given: one JSON result on stdout, and never a question. */
  readonly json: boolean;
}

export interface Command {
  readonly name: string;
  /** `exoform <usage>` */
  readonly usage: string;
  readonly summary: string;
  /** Most positional arguments it takes (default: 1 when the usage names `[stack]`, else 0). */
  readonly maxPositionals?: number;
  /** Flags of this command besides the global ones (--json, --help). */
  readonly options?: ParseArgsConfig["options"];
  run(ctx: CommandContext): Promise<void>;
}

/**
 * The stack: the `[stack]` argument or `-s/--stack` (as in pulumi), `local` when neither is
 * given; checked against Pulumi's stack-name rules before anything else (exit code 2).
 */
export function stackArg(ctx: CommandContext): string {
  const flag = typeof ctx.flags.stack === "string" ? ctx.flags.stack : undefined;
  if (flag !== undefined && ctx.args[0] !== undefined && ctx.args[0] !== flag) {
    throw new CliError(`two stacks given: ${ctx.args[0]} and --stack ${flag}`, ExitCode.Config);
  }
  return validStackName(flag ?? ctx.args[0] ?? "local");
}

/** --yes (-y): skip the question. */
export function yesFlag(ctx: CommandContext): boolean {
  return ctx.flags.yes === true;
}

/** The registered target that deployed `outputs` (undefined for one no longer registered). */
export function targetOf(outputs: Pick<StackOutputs, "target">): Target | undefined {
  return findTarget(outputs.target);
}

/** Lines describing an instance and a health report of it, shared by `up` and `check`. */
export function describeInstance(
  i: InstanceOutput,
  target: Target | undefined,
  report: HealthReport = i.health,
): string[] {
  const where = target?.describeInstance?.(i) ?? (i.address ? `at ${i.address}` : "");
  const lines = [`  ${i.name}  ${i.url}${where ? `  ${where}` : ""}`];
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

/**
 * The console's last lines for a failure message: from the target when it can read the
 * console, else from the health spec's console log file; undefined when there is none.
 */
export async function consoleTailFor(
  i: InstanceOutput,
  target: Target | undefined,
): Promise<{ source: string; lines: string } | undefined> {
  if (target?.readConsole) {
    const log = await target.readConsole(i).catch(() => undefined);
    if (log?.text !== undefined) {
      return { source: log.source, lines: consoleTail(consoleLines(log.text)) };
    }
  }
  return consoleTailOf(i.healthSpec);
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? "-" : `${(ms / 1000).toFixed(2)} s`;
}
