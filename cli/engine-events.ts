/**
 * Pulumi engine events → exoform phase events. The program's own events (image build) arrive as
 * encoded diagnostics; resource steps of our resource types become the "instance" and "health"
 * phases; error diagnostics are kept for the final message.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { PhaseEvent } from "../lib/events";
import { decodeProgramEvent } from "../infra/program-events";

const PHASE_BY_TYPE: Record<string, string> = {
  "pulumi-nodejs:dynamic/local:QemuVm": "instance",
  "pulumi-nodejs:dynamic/health:HealthCheck": "health",
};

/** What a step does, in the words of each phase. */
const VERB: Record<string, Partial<Record<string, [string, string]>>> = {
  instance: {
    create: ["starting QEMU for", "running"],
    "create-replacement": ["starting the replacement QEMU for", "replacement running"],
    delete: ["stopping QEMU of", "stopped"],
    "delete-replaced": ["stopping the replaced QEMU of", "replaced one stopped"],
  },
  health: {
    create: ["checking", "healthy"],
    "create-replacement": ["checking", "healthy"],
  },
};

export interface EngineEventState {
  /**
   * URNs this run created that did not exist before, in order: what a failed deployment rolls
   * back. Replacements are not in it: their URN also names the previous, healthy instance.
   */
  readonly created: string[];
  /** Error diagnostics, already without Pulumi's decorations. */
  readonly errors: string[];
  /** Set when a resource operation failed (a deployment error, exit code 4). */
  resourceFailed: boolean;
}

export function newEngineEventState(): EngineEventState {
  return { created: [], errors: [], resourceFailed: false };
}

export function translateEngineEvent(event: EngineEvent, state: EngineEventState): PhaseEvent[] {
  if (event.diagnosticEvent) {
    const d = event.diagnosticEvent;
    const carried = decodeProgramEvent(d.message);
    if (carried) return [carried];
    if (d.severity === "error") {
      const message = cleanDiagnostic(d.message);
      if (message && !state.errors.includes(message)) state.errors.push(message);
    }
    return [];
  }
  const step =
    event.resourcePreEvent?.metadata ??
    event.resOutputsEvent?.metadata ??
    event.resOpFailedEvent?.metadata;
  if (!step) return [];
  if (event.resOpFailedEvent) state.resourceFailed = true;
  if (event.resOutputsEvent && step.op === "create") {
    state.created.push(step.urn);
  }
  const phase = PHASE_BY_TYPE[step.type];
  const verbs = phase ? VERB[phase][step.op] : undefined;
  if (!phase || !verbs) return [];
  const name = step.urn.split("::").pop() ?? step.urn;
  if (event.resourcePreEvent) {
    return [{ phase, status: "start", message: `${verbs[0]} ${name}` }];
  }
  if (event.resOpFailedEvent) {
    return [{ phase, status: "error", message: `${name} failed` }];
  }
  const outs = step.new?.outputs ?? {};
  return [
    {
      phase,
      status: "stop",
      message: `${name} ${verbs[1]}${detail(phase, step.op, outs)}`,
      data: { urn: step.urn },
    },
  ];
}

function detail(phase: string, op: string, outs: Record<string, unknown>): string {
  if (phase === "instance" && op.startsWith("create")) {
    return ` (pid ${outs.pid}, ${outs.netns ? `netns ${outs.netns}` : "user-mode networking"})`;
  }
  return "";
}

/** Pulumi wraps provider errors ("error: ... creating urn:...: ..."); keep the useful part. */
function cleanDiagnostic(message: string): string {
  return message
    .replace(/<\{%[^%]*%\}>/g, "")
    .replace(/^error: /, "")
    .replace(/^update failed$/m, "")
    .trim();
}
