/**
 * The file backend's stack locks (`<backend>/.pulumi/locks/…/<stack>/<id>.json`, written by
 * the Pulumi CLI for the length of an update: `{pid, username, hostname, timestamp}`). A lock
 * whose process is gone (killed, or the machine restarted) stays forever and every later update
 * fails with "the stack is currently locked". exoform clears such a stale lock, saying so, and
 * reports a live one as lock contention (exit code 10). Other backends keep their own locks.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CONFIG_NAMESPACE } from "../infra/stack-file";

/** A lock file of the stack and what it says. */
export interface StackLock {
  readonly file: string;
  readonly pid: number;
  readonly hostname: string;
  readonly username: string;
  readonly timestamp: string;
  /** The locking process still runs (on this host: pid alive and a pulumi process). */
  readonly live: boolean;
}

/** The directory of the file backend, or undefined for any other backend. */
export function fileBackendDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.PULUMI_BACKEND_URL;
  if (!url?.startsWith("file://")) return undefined;
  return url.slice("file://".length).replace(/^~(?=\/)/, os.homedir());
}

/** Whether `pid` runs a pulumi process right now (zombies and recycled pids do not count). */
export function isPulumiProcess(pid: number): boolean {
  try {
    if (/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))) return false;
    const argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
    return /pulumi/.test(path.basename(argv0));
  } catch {
    return false;
  }
}

/** Every lock of `stack` in the file backend (project-scoped and legacy layouts). */
export function stackLocks(stack: string): StackLock[] {
  const backend = fileBackendDir();
  if (!backend) return [];
  const dirs = [
    path.join(backend, ".pulumi", "locks", "organization", CONFIG_NAMESPACE, stack),
    path.join(backend, ".pulumi", "locks", stack),
  ];
  const locks: StackLock[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((n) => n.endsWith(".json"));
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(dir, name);
      let content: Partial<StackLock> = {};
      try {
        content = JSON.parse(fs.readFileSync(file, "utf8"));
      } catch {
        // an unreadable lock is a stale one
      }
      const pid = Number(content.pid ?? 0);
      const hostname = String(content.hostname ?? "");
      // A lock of another host cannot be checked: treat it as live.
      const live = hostname !== os.hostname() ? hostname !== "" : isPulumiProcess(pid);
      locks.push({
        file,
        pid,
        hostname,
        username: String(content.username ?? ""),
        timestamp: String(content.timestamp ?? ""),
        live,
      });
    }
  }
  return locks;
}

/** Removes the stack's stale locks and returns them; live locks are left alone. */
export function clearStaleLocks(stack: string): StackLock[] {
  const stale = stackLocks(stack).filter((l) => !l.live);
  for (const lock of stale) {
    fs.rmSync(lock.file, { force: true });
    fs.rmSync(`${lock.file}.attrs`, { force: true }); // the blob store's sidecar
  }
  return stale;
}

/** One line describing a lock. */
export function describeLock(lock: StackLock): string {
  return `pid ${lock.pid} on ${lock.hostname || "?"} (${lock.username || "?"}) since ${lock.timestamp || "?"}`;
}
