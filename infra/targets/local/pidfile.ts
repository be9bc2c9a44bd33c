/**
 * Pidfiles of the daemons we start (QEMU, dnsmasq). A pid in a stale pidfile may have been
 * recycled by some other process, so a pid counts only while its process still carries the
 * argument that names the pidfile on its command line. The project may have moved since the
 * daemon started (its command line names the old path), so an argument naming the same
 * `<instance dir>/<pidfile>` under another parent counts too: instance directories are unique.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The pid in `pidFile` if that process is alive and carries `ownArgument` (which ends with the
 * pidfile's path, e.g. `--pid-file=<path>`), or the same argument for the moved pidfile. When
 * the pidfile is gone (a fresh clone of the project has no `.exoform/`), `knownPid` (from the
 * state) is checked the same way, so a daemon the state knows is never lost.
 */
export function pidOfWriter(
  pidFile: string,
  ownArgument: string,
  knownPid?: number,
): number | undefined {
  let pid: number;
  let cmdline: string;
  try {
    let text: string | undefined;
    try {
      text = fs.readFileSync(pidFile, "utf8");
    } catch {
      if (!knownPid) return undefined;
    }
    pid = text === undefined ? knownPid! : Number(text.trim());
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return undefined;
  }
  return cmdline.split("\0").some((arg) => namesPidFile(arg, ownArgument, pidFile))
    ? pid
    : undefined;
}

/** `arg` is `ownArgument`, or names the same `<dir>/<file>` as `pidFile` under another parent. Pure. */
export function namesPidFile(arg: string, ownArgument: string, pidFile: string): boolean {
  if (arg === ownArgument) return true;
  const head = ownArgument.slice(0, ownArgument.length - pidFile.length);
  const tail = path.sep + path.join(path.basename(path.dirname(pidFile)), path.basename(pidFile));
  return arg.startsWith(head) && arg.endsWith(tail);
}
