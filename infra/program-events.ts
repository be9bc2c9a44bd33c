/**
 * Progress from the Pulumi program and its dynamic providers to the `exoform` CLI. Both run in
 * processes the Pulumi engine starts, so events travel over a channel only the CLI opens: the
 * CLI names a file in EXOFORM_EVENTS_FILE (inherited by the engine, the program and the
 * providers), each process appends one JSON line per event, and the CLI reads them back and
 * validates each with PhaseEventSchema. Without the variable (plain `pulumi up`) nothing is
 * written; the program then shows short human lines through Pulumi's own log instead
 * (infra/index.ts).
 */
import * as fs from "node:fs";
import { PhaseEvent, PhaseEventSchema } from "../lib/events";

/** The environment variable naming the event file. */
export const PROGRAM_EVENTS_ENV = "EXOFORM_EVENTS_FILE";

/** Appends `event` to the CLI's event file, if the CLI opened one; never throws. */
export function sendToCli(event: PhaseEvent): void {
  const file = process.env[PROGRAM_EVENTS_ENV];
  if (!file) return;
  try {
    // One write of one short line with O_APPEND: lines of concurrent writers do not interleave.
    fs.appendFileSync(file, JSON.stringify(event) + "\n");
  } catch {
    // Progress is best effort: a vanished file must not fail a deployment.
  }
}

/** The CLI's side: the valid events among `lines`; malformed lines are counted, not trusted. */
export function decodeProgramEvents(lines: readonly string[]): {
  events: PhaseEvent[];
  malformed: number;
} {
  const events: PhaseEvent[] = [];
  let malformed = 0;
  for (const line of lines) {
    if (line.trim() === "") continue;
    try {
      const parsed = PhaseEventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
      else malformed++;
    } catch {
      malformed++;
    }
  }
  return { events, malformed };
}
