/**
 * The target registry: every target exoform deploys to, one line each. Adding a target is one
 * folder (infra/targets/<name>/ exporting a Target), one line here. Targets outside this
 * repository (and test-only ones) register through EXOFORM_TARGET_MODULES: a list of absolute
 * paths of CommonJS modules, separated by `:`, each exporting `target`.
 */
import { digitalOceanTarget } from "./digitalocean";
import { localTarget } from "./local";
import { proxmoxTarget } from "./proxmox";
import type { Target } from "./target";

export type { Target } from "./target";

const REGISTERED: readonly Target[] = [localTarget, digitalOceanTarget, proxmoxTarget];

/** Targets that are planned but not implemented yet: the one place that says so. */
const PLANNED: readonly string[] = [];

/** Environment variable listing extra target modules (see the file comment). */
export const TARGET_MODULES_ENV = "EXOFORM_TARGET_MODULES";

let extra: Target[] | undefined;

/** Registered targets, then those from EXOFORM_TARGET_MODULES (loaded once). */
export function allTargets(): readonly Target[] {
  extra ??= (process.env[TARGET_MODULES_ENV] ?? "")
    .split(":")
    .filter(Boolean)
    .map((file) => {
      const target = (require(file) as { target?: Target }).target;
      if (!target?.name || !target.settingsSchema || typeof target.deploy !== "function") {
        throw new Error(`${TARGET_MODULES_ENV}: ${file} does not export a target`);
      }
      return target;
    });
  return [...REGISTERED, ...extra];
}

export function findTarget(name: string): Target | undefined {
  return allTargets().find((t) => t.name === name);
}

/** Names of the registered targets, in registry order. */
export function targetNames(): string[] {
  return allTargets().map((t) => t.name);
}

/** Every `exoform:<target>` settings key: registered and planned targets. */
export function settingsKeys(): string[] {
  return [...targetNames(), ...PLANNED];
}

/** Why `name` is not a target you can deploy to: planned but not implemented, or unknown. */
export function unknownTargetProblem(name: unknown): string {
  const available = targetNames().join(", ");
  if (typeof name === "string" && PLANNED.includes(name)) {
    return `the ${name} target is not implemented yet (targets: ${available})`;
  }
  return `${JSON.stringify(name)} is not a target (targets: ${available})`;
}
