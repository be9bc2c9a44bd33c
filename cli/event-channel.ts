/**
 * The CLI's end of the program-events channel (infra/program-events.ts): a private file whose
 * path goes to the Pulumi engine in EXOFORM_EVENTS_FILE; the program and its dynamic providers
 * append JSON lines, which are read back every 100 ms, validated and rendered.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import type { EventSink } from "../lib/events";
import { decodeProgramEvents, PROGRAM_EVENTS_ENV } from "../infra/program-events";

export interface EventChannel {
  /** Reads what is left, stops polling, removes the file and the stack's env var. */
  close(): Promise<void>;
}

/** Opens the channel for operations on `stack`; events go to `onEvent`. */
export async function openEventChannel(stack: Stack, onEvent: EventSink): Promise<EventChannel> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-events-"));
  const file = path.join(dir, "events.jsonl");
  fs.writeFileSync(file, "", { mode: 0o600 });
  stack.workspace.envVars[PROGRAM_EVENTS_ENV] = file;
  let offset = 0;
  let partial = "";
  const drain = () => {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return;
    }
    if (size <= offset) return;
    const buf = Buffer.alloc(size - offset);
    const fd = fs.openSync(file, "r");
    try {
      fs.readSync(fd, buf, 0, buf.length, offset);
    } finally {
      fs.closeSync(fd);
    }
    offset = size;
    const lines = (partial + buf.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    decodeProgramEvents(lines).events.forEach(onEvent);
  };
  const timer = setInterval(drain, 100);
  return {
    async close() {
      clearInterval(timer);
      drain();
      delete stack.workspace.envVars[PROGRAM_EVENTS_ENV];
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
