/**
 * The watchdog of one CLI run (started by processes.ts `startWatchdog`): `node watchdog.js
 * <run tag>`. It polls the CLI every 200 ms; once the CLI is gone (exited, or killed with -9),
 * it kills every process still carrying the run's tag — the Pulumi engine's language host and
 * dynamic-provider hosts, which Pulumi starts in process groups of their own — and exits. The
 * CLI stops it with SIGTERM when the operation ends normally.
 */
import { reapRun, runStillAlive } from "./processes";

const tag = process.argv[2];
if (!tag) process.exit(2);
const timer = setInterval(() => {
  if (runStillAlive(tag)) return;
  clearInterval(timer);
  reapRun(tag);
  process.exit(0);
}, 200);
