/**
 * One engine operation (up, destroy, refresh, preview) with Pulumi's Ctrl-C habits and nothing
 * left behind:
 *
 * - the first Ctrl-C (SIGINT or SIGTERM) asks the engine to cancel gracefully: Pulumi finishes
 *   the steps in flight, writes the state and releases the lock. A Ctrl-C from the terminal
 *   reaches the engine itself (same process group); a signal sent to the CLI alone is passed on
 *   when the engine has not said within a second that it is cancelling;
 * - a second one stops the engine and its helpers at once (SIGKILL);
 * - either way the operation ends as exit code 8 (Pulumi's "cancelled"), after recovery
 *   (cli/recover.ts) cleared the lock and swept what an interrupted create left;
 * - when the operation ends, every process still carrying this run's tag (language host,
 *   dynamic providers) is killed; if the CLI itself is killed (`kill -9`), its watchdog
 *   (cli/watchdog.ts) kills them within a fraction of a second.
 */
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import type { EventSink } from "../lib/events";
import { EngineEventState, newEngineEventState, translateEngineEvent } from "./engine-events";
import { openEventChannel } from "./event-channel";
import { CliError, ExitCode } from "./exit-codes";
import { reapOwnRun, startWatchdog } from "./processes";
import { recoverStack } from "./recover";

/** What the operation passes to the Automation API call. */
export interface EngineRun {
  readonly signal: AbortSignal;
  readonly onEvent: (e: EngineEvent) => void;
  readonly state: EngineEventState;
  /** Whether the user interrupted the operation (Ctrl-C, SIGTERM). */
  readonly interrupted: () => boolean;
}

/** How long a signal sent to the CLI alone waits for the engine to say it is cancelling. */
const FORWARD_AFTER_MS = 1000;

/**
 * Runs `op` on `stack`; a Ctrl-C turns into a graceful cancel (see the file comment) and the
 * CliError with exit code 8.
 */
export async function engineOperation<T>(
  stack: Stack,
  onEvent: EventSink,
  op: (run: EngineRun) => Promise<T>,
  opts: { quiet?: boolean } = {},
): Promise<T> {
  const controller = new AbortController();
  const state = newEngineEventState();
  let interrupts = 0;
  let engineCancelling = false;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      onEvent({
        phase: "cancel",
        status: "start",
        message:
          "interrupted: the engine finishes what is in flight and releases the lock (Ctrl-C again to stop it at once)",
      });
      setTimeout(() => {
        if (!engineCancelling && !controller.signal.aborted) controller.abort();
      }, FORWARD_AFTER_MS).unref();
    } else {
      const killed = reapOwnRun();
      onEvent({
        phase: "cancel",
        status: "error",
        message: `stopped the engine at once (${killed.length} process(es)); the lock and unfinished instances are cleaned up next`,
      });
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const channel = await openEventChannel(stack, onEvent);
  const stopWatchdog = startWatchdog();
  const onEngineEvent = (e: EngineEvent) => {
    if (e.stdoutEvent && /received; cancelling/.test(e.stdoutEvent.message))
      engineCancelling = true;
    const events = translateEngineEvent(e, state);
    if (!opts.quiet) events.forEach(onEvent);
  };
  try {
    return await op({
      signal: controller.signal,
      onEvent: onEngineEvent,
      state,
      interrupted: () => interrupts > 0,
    });
  } catch (e) {
    if (interrupts === 0) throw e;
    throw new CliError(
      `${stack.name}: interrupted; what finished is in the state (exoform status ${stack.name}; exoform up ${stack.name} continues, exoform down ${stack.name} removes it)`,
      ExitCode.Cancelled,
    );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await channel.close();
    reapOwnRun();
    stopWatchdog();
    if (interrupts > 0) {
      await recoverStack(stack.name, stack, onEvent).catch((e: Error) =>
        onEvent({ phase: "recover", status: "error", message: e.message }),
      );
      onEvent({ phase: "cancel", status: "stop", message: "cancelled" });
    }
  }
}
