/**
 * Worker tasks as `PVE::RPCEnvironment::fork_worker` runs them: the API call answers at once
 * with a UPID, the work runs in the background, and `GET /nodes/{node}/tasks/{upid}/status`
 * reports `running`, then `stopped` with `exitstatus` `OK` or the error text (pve-common
 * `PVE::UPID`, pve-manager `PVE/API2/Tasks.pm`). The task log is what the worker printed.
 */
import { die } from "./errors";

export interface TaskStatus {
  readonly upid: string;
  readonly node: string;
  readonly pid: number;
  readonly pstart: number;
  readonly starttime: number;
  readonly type: string;
  readonly id: string;
  readonly user: string;
  status: "running" | "stopped";
  exitstatus?: string;
}

/** What a worker may do: print to its task log. */
export interface TaskContext {
  log(line: string): void;
}

interface Task {
  readonly status: TaskStatus;
  readonly log: string[];
  readonly done: Promise<void>;
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");

export class TaskRunner {
  private readonly tasks = new Map<string, Task>();
  private seq = 0;
  /** Injected: the next task of a type ends with this exit status instead of running its work. */
  private readonly failNext = new Map<string, string>();
  /** Every task lasts at least this long (slow tasks). */
  minDurationMs = 0;

  constructor(private readonly node: string) {}

  /**
   * Starts `work` as task `type` (`imgcopy`, `qmcreate`, …) for `id` (a vmid, or "") on behalf
   * of `user`; returns the UPID at once. A throw in `work` becomes the exit status.
   * `onFailure` runs when the task fails, injected failures included (a create undoes itself).
   */
  start(
    type: string,
    id: string,
    user: string,
    work: (ctx: TaskContext) => Promise<void>,
    onFailure?: () => Promise<void>,
  ): string {
    const starttime = Math.floor(Date.now() / 1000);
    const pid = 100000 + ++this.seq;
    const pstart = 1000000 + this.seq;
    // pve-common PVE::UPID::encode: UPID:node:pid:pstart:starttime:type:id:user:
    const upid = `UPID:${this.node}:${hex8(pid)}:${hex8(pstart)}:${hex8(starttime)}:${type}:${id}:${user}:`;
    const status: TaskStatus = {
      upid,
      node: this.node,
      pid,
      pstart,
      starttime,
      type,
      id,
      user,
      status: "running",
    };
    const log: string[] = [];
    const ctx: TaskContext = { log: (line) => log.push(line) };
    const injected = this.failNext.get(type);
    if (injected !== undefined) this.failNext.delete(type);
    const run = async () => {
      const began = Date.now();
      let exit = "OK";
      try {
        await new Promise((r) => setImmediate(r)); // never before the API call has answered
        if (injected !== undefined) throw new Error(injected);
        await work(ctx);
      } catch (e) {
        exit = (e as Error).message.replace(/\n+$/, "");
        log.push(`TASK ERROR: ${exit}`);
        if (onFailure) await onFailure().catch((err) => log.push(`cleanup: ${err}`));
      }
      const rest = this.minDurationMs - (Date.now() - began);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      if (exit === "OK") log.push("TASK OK");
      status.exitstatus = exit;
      status.status = "stopped";
    };
    this.tasks.set(upid, { status, log, done: run() });
    return upid;
  }

  /** Makes the next task of `type` fail with `exitstatus` (its work does not run). */
  failNextTask(type: string, exitstatus: string): void {
    this.failNext.set(type, exitstatus);
  }

  status(upid: string): TaskStatus {
    return { ...this.get(upid).status };
  }

  /** pve-manager `PVE/API2/Tasks.pm` read_task_log: `[{n, t}]`, numbered from 1. */
  log(upid: string, start = 0, limit = 50): { n: number; t: string }[] {
    return this.get(upid)
      .log.map((t, i) => ({ n: i + 1, t }))
      .slice(start, start + limit);
  }

  /** The task's status once it has ended, or after `ms` (then still `running`). */
  async waitFor(upid: string, ms: number): Promise<TaskStatus> {
    const task = this.get(upid);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([task.done, new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    return this.status(upid);
  }

  /** Resolves when every task started so far has ended. */
  async settle(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.done));
  }

  private get(upid: string): Task {
    const task = this.tasks.get(upid);
    // pve-common PVE::UPID::decode
    if (!task) throw die(`unable to parse worker upid '${upid}'`);
    return task;
  }
}
