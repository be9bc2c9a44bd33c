/**
 * Phase events: the libraries (image-builder, infra, health) report progress as events and
 * never print; only the CLI renders them (a live line on a TTY, plain lines in CI, JSON lines
 * under --json). Events that cross a process boundary are checked with PhaseEventSchema.
 */
import { z } from "zod";

export const PhaseStatusSchema = z.enum(["start", "progress", "stop", "error"]);
export type PhaseStatus = z.infer<typeof PhaseStatusSchema>;

export const PhaseEventSchema = z.object({
  /** What is happening, e.g. "kernel", "image", "deploy", "health". */
  phase: z.string().min(1),
  status: PhaseStatusSchema,
  /** One human-readable line, without secrets. */
  message: z.string(),
  /** Machine-readable details for --json (sizes, ids, timings). */
  data: z.record(z.string(), z.unknown()).optional(),
});
export type PhaseEvent = z.infer<typeof PhaseEventSchema>;

export type EventSink = (event: PhaseEvent) => void;

/** A sink that drops everything, for callers that do not care. */
export const ignoreEvents: EventSink = () => undefined;
