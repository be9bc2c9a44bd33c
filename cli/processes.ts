/**
 * Keeping the Pulumi engine's helper processes from outliving the CLI. Pulumi starts the
 * language host and each dynamic-provider host in a process group of its own, so a Ctrl-C or
 * `kill -9` of the CLI's group leaves them running. Every operation therefore tags the engine's
 * environment with `EXOFORM_RUN=<cli pid>-<cli start time>` (inherited by the engine and all
 * its plugins; QEMU, dnsmasq and ping get a scrubbed environment and never carry it): at the
 * end of an operation the CLI kills what still carries its own tag, and every command first
 * kills what carries the tag of a CLI that is no longer running.
 */
import * as fs from "node:fs";

/** The environment variable tagging the processes of one CLI run. */
export const RUN_TAG_ENV = "EXOFORM_RUN";

/** The start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat). */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
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

/** Processes carrying a run tag: pid → tag. */
function taggedProcesses(): Map<number, string> {
  const out = new Map<number, string>();
  const prefix = `${RUN_TAG_ENV}=`;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      const tag = env.find((e) => e.startsWith(prefix));
      if (tag) out.set(Number(entry), tag.slice(prefix.length));
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

/** Kills every process still carrying this run's tag (the engine has exited); returns their pids. */
export function reapOwnRun(): number[] {
  const own = ownRunTag();
  return kill([...taggedProcesses()].filter(([, tag]) => tag === own).map(([pid]) => pid));
}
