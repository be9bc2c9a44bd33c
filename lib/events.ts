/**
 * Phase events: the libraries (image-builder, infra, health) report progress as events and
 * never print; only the CLI renders them (a live line on a TTY, plain lines in CI, JSON lines
 * under --json).
 */
export type PhaseStatus = "start" | "progress" | "stop" | "error";

export interface PhaseEvent {
  /** What is happening, e.g. "kernel", "image", "deploy", "health". */
  readonly phase: string;
  readonly status: PhaseStatus;
  /** One human-readable line, without secrets. */
  readonly message: string;
  /** Machine-readable details for --json (sizes, ids, timings). */
  readonly data?: Readonly<Record<string, unknown>>;
}

export type EventSink = (event: PhaseEvent) => void;

/** A sink that drops everything, for callers that do not care. */
export const ignoreEvents: EventSink = () => undefined;
