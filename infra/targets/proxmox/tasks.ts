/**
 * PVE tasks: most changes answer a task id (UPID) at once and run in a worker. `waitForTask`
 * polls `GET /nodes/{node}/tasks/{upid}/status` (pve-manager `API2/Tasks.pm`) until the task
 * stops, and turns a failed exit status into an error that quotes it and the task log's tail.
 */
import { z } from "zod";
import type { PveSession } from "./client";
import { parseUpid, TaskStatusSchema, taskFailure } from "./pve-rules";

/** A task that failed or did not finish in time. */
export class PveTaskError extends Error {
  constructor(
    message: string,
    /** The task's exit status (`exitstatus`), undefined on timeout. */
    readonly exitStatus: string | undefined,
  ) {
    super(message);
    this.name = "PveTaskError";
  }
}

export interface WaitOptions {
  /** Give up after this long (ms): the task keeps running on PVE, exoform reports the timeout. */
  readonly timeoutMs: number;
  /** Milliseconds between polls (default 500). */
  readonly pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TaskLogSchema = z.array(z.looseObject({ n: z.number(), t: z.string() }));

/**
 * Waits for the task `upid` (as the API answered it) to stop; returns its duration in ms.
 * `what` names the step for messages ("import exoform-….raw into local"). Throws PveTaskError
 * with the exit status and the log's last lines when it failed, or when it runs past the timeout.
 */
export async function waitForTask(
  session: PveSession,
  upid: unknown,
  what: string,
  options: WaitOptions,
): Promise<number> {
  const task = parseUpid(upid, what);
  const started = Date.now();
  for (;;) {
    const status = await session.call(`${what}: task status`, TaskStatusSchema, (api) =>
      api.nodes.$(task.node).tasks.$(task.upid).status.$get(),
    );
    const failure = taskFailure(status);
    if (status.status === "stopped" && failure === undefined) return Date.now() - started;
    if (failure !== undefined) {
      const tail = await taskLogTail(session, task.node, task.upid);
      throw new PveTaskError(
        session.redact(
          `${what} failed: task ${task.type} on ${task.node} ended with: ${failure}${tail ? `\n  task log (last lines):\n${tail}` : ""}`,
        ),
        failure,
      );
    }
    if (Date.now() - started > options.timeoutMs)
      throw new PveTaskError(
        `${what}: task ${task.upid} still running after ${options.timeoutMs / 1000} s (exoform:proxmox.taskTimeoutSeconds); see it in the task list of node ${task.node}`,
        undefined,
      );
    await sleep(options.pollMs ?? 500);
  }
}

/** The last lines of a task's log, indented; empty when it cannot be read. */
async function taskLogTail(session: PveSession, node: string, upid: string): Promise<string> {
  try {
    const lines = await session.call("task log", TaskLogSchema, (api) =>
      api.nodes.$(node).tasks.$(upid).log.$get({ start: 0, limit: 500 }),
    );
    // The log's last line, "TASK ERROR: <exit status>", repeats what the message already says.
    return lines
      .filter((l) => !l.t.startsWith("TASK ERROR:"))
      .slice(-8)
      .map((l) => `    | ${l.t}`)
      .join("\n");
  } catch {
    // The status already says why it failed; the log only adds context.
    return "";
  }
}
