/**
 * Pulumi engine events → exoform phase events. Resource steps become progress in the words of
 * the resource's target (its `resourcePhases`, through the registry) or of the health check;
 * resource types nobody describes still show progress, in generic words. Error diagnostics
 * are kept for the final message. The program's own events come over the event channel
 * (event-channel.ts), not through the engine.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { PhaseEvent } from "../lib/events";
import { HEALTH_CHECK_TYPE } from "../infra/health/resource";
import { allTargets } from "../infra/targets";
import type { ResourcePhase, StepOp } from "../infra/targets/target";

const HEALTH_PHASE: ResourcePhase = {
  phase: "health",
  verbs: { create: ["checking", "healthy"], "create-replacement": ["checking", "healthy"] },
};

/** What any step does, for resource types without a ResourcePhase. */
const GENERIC_VERBS: Partial<Record<StepOp, readonly [string, string]>> = {
  create: ["creating", "created"],
  "create-replacement": ["creating the replacement of", "replacement created"],
  update: ["updating", "updated"],
  delete: ["deleting", "deleted"],
  "delete-replaced": ["deleting the replaced", "replaced one deleted"],
};

/** The phase wording of a resource type: its target's, the health check's, or generic. */
export function resourcePhaseFor(type: string): ResourcePhase | undefined {
  if (type === HEALTH_CHECK_TYPE) return HEALTH_PHASE;
  for (const target of allTargets()) {
    const phase = target.resourcePhases?.[type];
    if (phase) return phase;
  }
  // The stack itself and component resources only group others: no progress of their own.
  if (type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:")) return undefined;
  if (/^exoform:[^:]+:/.test(type)) return undefined;
  return { phase: GENERIC_PHASE, verbs: GENERIC_VERBS };
}

const GENERIC_PHASE = "resource";

/** `digitalocean:index/droplet:Droplet` → `digitalocean:Droplet`. Pure. */
export function shortType(type: string): string {
  const parts = type.split(":");
  return parts.length === 3
    ? `${parts[0].replace(/^pulumi-nodejs$/, "dynamic")}:${parts[2]}`
    : type;
}

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
  /** The resource operations that failed, in order: which kind of step broke the run. */
  readonly failedOps: { readonly op: string; readonly urn: string }[];
}

export function newEngineEventState(): EngineEventState {
  return { created: [], errors: [], resourceFailed: false, failedOps: [] };
}

/**
 * Whether a failed run broke only while removing what the program no longer declares (an old
 * generation, a replaced resource): everything new was created, checked healthy and is
 * serving, so rolling it back would take down the only healthy instances. Pure.
 */
export function onlyRemovalsFailed(state: Pick<EngineEventState, "failedOps">): boolean {
  return (
    state.failedOps.length > 0 &&
    state.failedOps.every(
      (f) => f.op === "delete" || f.op === "delete-replaced" || f.op === "discard",
    )
  );
}

export function translateEngineEvent(event: EngineEvent, state: EngineEventState): PhaseEvent[] {
  if (event.diagnosticEvent) {
    const d = event.diagnosticEvent;
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
  if (event.resOpFailedEvent) {
    state.resourceFailed = true;
    state.failedOps.push({ op: step.op, urn: step.urn });
  }
  if (event.resOutputsEvent && step.op === "create") {
    state.created.push(step.urn);
  }
  const described = resourcePhaseFor(step.type);
  const verbs = described?.verbs[step.op as StepOp];
  if (!described || !verbs) return [];
  const { phase } = described;
  const resource = step.urn.split("::").pop() ?? step.urn;
  // Generic wording names the type too: "creating web (digitalocean:Droplet)".
  const name = phase === GENERIC_PHASE ? `${resource} (${shortType(step.type)})` : resource;
  if (event.resourcePreEvent) {
    return [{ phase, status: "start", message: `${verbs[0]} ${name}` }];
  }
  if (event.resOpFailedEvent) {
    return [{ phase, status: "error", message: `${name} failed` }];
  }
  const outs = step.new?.outputs ?? {};
  const detail = step.op.startsWith("create") && described.detail ? described.detail(outs) : "";
  return [
    {
      phase,
      status: "stop",
      message: `${name} ${verbs[1]}${detail}`,
      data: { urn: step.urn, type: step.type },
    },
  ];
}

/** Pulumi wraps provider errors ("error: ... creating urn:...: ..."); keep the useful part. */
function cleanDiagnostic(message: string): string {
  return message
    .replace(/<\{%[^%]*%\}>/g, "")
    .replace(/^error: /, "")
    .replace(/^update failed$/m, "")
    .trim();
}
