/**
 * The Pulumi program runs in the engine's language host, not in the CLI's process: its phase
 * events travel as ephemeral info diagnostics with a fixed prefix (shown only transiently by
 * the plain `pulumi` CLI), and `exoform` decodes them back into PhaseEvents.
 */
import type { PhaseEvent } from "../lib/events";

const PREFIX = "exoform-event ";

export function encodeProgramEvent(event: PhaseEvent): string {
  return PREFIX + JSON.stringify(event);
}

/** The PhaseEvent carried by a diagnostic message, or undefined for any other message. */
export function decodeProgramEvent(message: string): PhaseEvent | undefined {
  if (!message.startsWith(PREFIX)) return undefined;
  try {
    return JSON.parse(message.slice(PREFIX.length).trim()) as PhaseEvent;
  } catch {
    return undefined;
  }
}
