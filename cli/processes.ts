/**
 * Keeping the Pulumi engine's helper processes from outliving the CLI. Pulumi starts the
 * language host and each dynamic-provider host in a process group of its own, so a Ctrl-C or
 * `kill -9` of the CLI's group leaves them running. Every operation therefore tags the engine's
 * environment with `EXOFORM_RUN=<cli pid>-<cli start time>` (inherited by the engine and all
 * its plugins; QEMU, dnsmasq and ping get a scrubbed environment and never carry it): at the
 * end of an operation the CLI kills the engine helpers still carrying its own tag (only those:
 * see isEngineHelper), and every command first kills those carrying the tag of a CLI that is
 * no longer running.
 */
import * as fs from "node:fs";
import { scrubbedEnv } from "../lib/child-env";

/** The environment variable tagging the processes of one CLI run. */
export const RUN_TAG_ENV = "EXOFORM_RUN";

/**
 * The start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), or
 * undefined when it does not run (a zombie, killed but not yet reaped, does not run).
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** This CLI process's tag: `<pid>-<start time>` (a recycled pid gets another start time). */
export function ownRunTag(): string {
  return `${process.pid}-${startTime(process.pid) ?? "0"}`;
}

/** Whether the CLI run that `tag` names still runs. */
function runAlive(tag: string): boolean {
  const [pid, start] = tag.split("-");
  return startTime(Number(pid)) === start;
}

/**
 * Whether a command line is one of the engine's own processes: the pulumi CLI, a plugin
 * (`pulumi-language-*`, `pulumi-resource-*`, …) or a Node host of the SDK (`@pulumi/pulumi/cmd/`:
 * the program runner, the dynamic-provider host). Only these are ever killed by tag: a daemon
 * a provider starts on purpose (a target's local server) may inherit the tag and must live on.
 * Pure.
 */
export function isEngineHelper(argv: readonly string[]): boolean {
  const base = (a: string) => a.slice(a.lastIndexOf("/") + 1);
  if (/^pulumi(-|$)/.test(base(argv[0] ?? ""))) return true;
  return argv.some((a) => a.includes("/@pulumi/pulumi/cmd/") || /^pulumi-[a-z]+-/.test(base(a)));
}

/** Engine helpers carrying a run tag: pid → tag. */
function taggedProcesses(): Map<number, string> {
  const out = new Map<number, string>();
  const prefix = `${RUN_TAG_ENV}=`;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      const tag = env.find((e) => e.startsWith(prefix));
      if (!tag) continue;
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (isEngineHelper(argv)) out.set(Number(entry), tag.slice(prefix.length));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

function kill(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      process.kill(pid, "SIGKILL");
      return true;
    } catch {
      return false;
    }
  });
}

/** Kills the processes left by CLI runs that no longer run; returns their pids. */
export function reapDeadRuns(): number[] {
  const dead = [...taggedProcesses()].filter(([, tag]) => !runAlive(tag)).map(([pid]) => pid);
  return kill(dead);
}

/** Kills every process carrying `tag`; returns their pids. */
export function reapRun(tag: string): number[] {
  return kill([...taggedProcesses()].filter(([, t]) => t === tag).map(([pid]) => pid));
}

/** Kills every process still carrying this run's tag (the engine has exited); returns their pids. */
export function reapOwnRun(): number[] {
  return reapRun(ownRunTag());
}

/**
 * Starts the watchdog of this run (cli/watchdog.ts): a detached process, outside the CLI's
 * process group and without the tag, that kills the run's processes as soon as the CLI is gone,
 * even after a `kill -9`. Returns a function that stops it.
 */
export function startWatchdog(): () => void {
  const { spawn } = require("node:child_process") as typeof import("node:child_process");
  const path = require("node:path") as typeof import("node:path");
  // Not the CLI's environment: no tag, no passphrase, nothing that marks it as the project's.
  const env = scrubbedEnv();
  const child = spawn(process.execPath, [path.join(__dirname, "watchdog.js"), ownRunTag()], {
    detached: true,
    stdio: "ignore",
    env,
  });
  child.unref();
  return () => {
    try {
      if (child.pid) process.kill(child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
}

/** Whether the CLI run that `tag` names still runs (for the watchdog). */
export function runStillAlive(tag: string): boolean {
  return runAlive(tag);
}
