/**
 * What every state-changing command does before it hands the stack to the engine, so that a
 * crash, a Ctrl-C or a deleted state never leaves anything behind for good:
 *
 * 1. kill the engine helpers (language host, dynamic providers) of exoform runs that died;
 * 2. clear the stack's stale locks (the locking process is gone) and refuse live ones (exit 10);
 * 3. report the state's pending operations (an interrupted create or delete) and drop them;
 * 4. sweep every instance a target finds for the stack that the state does not own.
 *
 * Each step says what it did as a `recover` event.
 */
import type { Deployment, Stack } from "@pulumi/pulumi/automation";
import type { EventSink } from "../lib/events";
import { allTargets } from "../infra/targets";
import type { FoundInstance, Target } from "../infra/targets/target";
import { CliError, ExitCode } from "./exit-codes";
import { clearStaleLocks, describeLock, stackLocks } from "./locks";
import { reapDeadRuns } from "./processes";
import { projectDir, pulumiCall } from "./stack";

/** What recovery found and did. */
export interface Recovery {
  /** Pending operations the state held, as "creating <urn>" lines. */
  readonly pending: string[];
  /** Orphaned instances swept, as the targets describe them. */
  readonly swept: string[];
  /** Stale locks removed. */
  readonly locksCleared: number;
  /** Leftover engine processes killed. */
  readonly processesKilled: number;
}

/** The lines `exoform cancel` and the lock check share for a live lock. */
export function lockedError(name: string): CliError {
  const live = stackLocks(name).filter((l) => l.live);
  return new CliError(
    `${name} is locked by a running update (${live.map(describeLock).join("; ")}): wait for it to finish, or stop it with: exoform cancel ${name}`,
    ExitCode.Locked,
  );
}

/** Steps 1 and 2: leftover processes and locks. Throws exit code 10 for a live lock. */
export function recoverLocks(name: string, onEvent: EventSink): { locks: number; killed: number } {
  const killed = reapDeadRuns();
  if (killed.length > 0) {
    onEvent({
      phase: "recover",
      status: "stop",
      message: `stopped ${killed.length} engine process(es) an interrupted exoform left running (pid ${killed.join(", ")})`,
    });
  }
  if (stackLocks(name).some((l) => l.live)) throw lockedError(name);
  const stale = clearStaleLocks(name);
  for (const lock of stale) {
    onEvent({
      phase: "recover",
      status: "stop",
      message: `removed a stale lock of ${name}: its update (${describeLock(lock)}) no longer runs`,
    });
  }
  return { locks: stale.length, killed: killed.length };
}

/** A state resource: its id, type and URN. */
interface StateResource {
  readonly id?: string;
  readonly type: string;
  readonly urn: string;
}

/** The stack's state: its resources, its pending operations, and the export they came from. */
export async function stateOf(stack: Stack | undefined): Promise<{
  resources: StateResource[];
  pending: { type: string; urn: string }[];
  exported?: Deployment;
}> {
  if (!stack) return { resources: [], pending: [] };
  const exported = await pulumiCall(() => stack.exportStack());
  const d = (exported.deployment ?? {}) as {
    resources?: StateResource[];
    pending_operations?: { type: string; resource: { urn: string } }[];
  };
  return {
    resources: d.resources ?? [],
    pending: (d.pending_operations ?? []).map((p) => ({ type: p.type, urn: p.resource.urn })),
    exported,
  };
}

/** Instances each target finds for the stack, with the target that found them. */
export async function foundInstances(
  name: string,
  targets: readonly Target[] = allTargets(),
): Promise<{ target: Target; instance: FoundInstance }[]> {
  const scope = { stack: name, projectDir: projectDir() };
  const out: { target: Target; instance: FoundInstance }[] = [];
  for (const target of targets) {
    if (!target.listInstances) continue;
    for (const instance of await target.listInstances(scope)) out.push({ target, instance });
  }
  return out;
}

/** Sweeps the given instances, each through its own target. */
export async function sweepInstances(
  name: string,
  found: readonly { target: Target; instance: FoundInstance }[],
): Promise<void> {
  const scope = { stack: name, projectDir: projectDir() };
  for (const target of new Set(found.map((f) => f.target))) {
    const mine = found.filter((f) => f.target === target).map((f) => f.instance);
    await target.sweep?.(scope, mine);
  }
}

/** Steps 1-4 (see the file comment) for `stack` (undefined: not in the backend). */
export async function recoverStack(
  name: string,
  stack: Stack | undefined,
  onEvent: EventSink,
): Promise<Recovery> {
  const { locks, killed } = recoverLocks(name, onEvent);
  const state = await stateOf(stack);
  const pending = state.pending.map((p) => `${p.type} ${p.urn.split("::").pop()}`);
  if (stack && pending.length > 0) {
    onEvent({
      phase: "recover",
      status: "stop",
      message: `${pending.length} pending operation(s) of an interrupted update: ${pending.join(", ")}; dropped from the state, their instances are swept below`,
    });
    const exported = state.exported!;
    delete (exported.deployment as { pending_operations?: unknown }).pending_operations;
    await pulumiCall(() => stack.importStack(exported));
  }
  const owned = new Set(state.resources.map((r) => r.id).filter(Boolean));
  const orphans = (await foundInstances(name)).filter((f) => !owned.has(f.instance.id));
  if (orphans.length > 0) {
    await sweepInstances(name, orphans);
    onEvent({
      phase: "recover",
      status: "stop",
      message: `swept ${orphans.length} instance(s) of ${name} that the state does not own: ${orphans.map((o) => o.instance.description).join("; ")}`,
    });
  }
  return {
    pending,
    swept: orphans.map((o) => o.instance.description),
    locksCleared: locks,
    processesKilled: killed,
  };
}
