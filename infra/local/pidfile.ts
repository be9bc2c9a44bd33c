/**
 * Pidfiles of the daemons we start (QEMU, dnsmasq). A pid in a stale pidfile may have been
 * recycled by some other process, so a pid counts only while its process still carries the
 * argument that names the pidfile on its command line.
 */
import * as fs from "node:fs";

/** The pid in `pidFile` if that process is alive and `ownArgument` is one of its arguments. */
export function pidOfWriter(pidFile: string, ownArgument: string): number | undefined {
  let pid: number;
  let cmdline: string;
  try {
    pid = Number(fs.readFileSync(pidFile, "utf8").trim());
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return undefined;
  }
  return cmdline.split("\0").includes(ownArgument) ? pid : undefined;
}
