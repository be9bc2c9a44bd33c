/**
 * What an update would change, from `pulumi preview` (no side effects: the program builds the
 * image into a temporary directory to learn its id, and nothing else). `exoform preview` prints
 * it, `exoform up` shows it before asking.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import type { EventSink } from "../lib/events";
import { shortType } from "./engine-events";
import { engineOperation } from "./operation";
import { pulumiCall } from "./stack";

/** One planned step: `create`, `update`, `replace`, `delete`, … of a resource. */
export interface PlannedStep {
  readonly op: string;
  readonly name: string;
  readonly type: string;
}

/** The plan of an update of `stack`: its steps (unchanged resources left out) and counts. */
export interface Plan {
  readonly steps: PlannedStep[];
  readonly changes: Record<string, number>;
}

const MARK: Record<string, string> = {
  create: "+",
  update: "~",
  replace: "+-",
  "create-replacement": "+-",
  delete: "-",
  "delete-replaced": "-",
};

/** Runs a preview of `stack` and returns its plan. */
export async function previewPlan(stack: Stack, onEvent: EventSink): Promise<Plan> {
  const steps: PlannedStep[] = [];
  const result = await engineOperation(
    stack,
    onEvent,
    (run) =>
      pulumiCall(() =>
        stack.preview({
          color: "never",
          signal: run.signal,
          onEvent: (e) => {
            run.onEvent(e);
            const m = e.resourcePreEvent?.metadata;
            if (!m || m.op === "same" || m.type === "pulumi:pulumi:Stack") return;
            if (m.type.startsWith("pulumi:providers:")) return;
            steps.push({ op: m.op, name: m.urn.split("::").pop() ?? m.urn, type: m.type });
          },
        }),
      ),
    { quiet: true },
  );
  const changes = Object.fromEntries(
    Object.entries(result.changeSummary ?? {}).filter(([op, n]) => op !== "same" && n > 0),
  ) as Record<string, number>;
  return { steps, changes };
}

/** The plan as lines: `  + create e2e-0 (dynamic:QemuVm)` and a summary. Pure. */
export function planLines(stackName: string, plan: Plan): string[] {
  const said = Object.entries(plan.changes).map(([op, n]) => `${n} to ${op}`);
  return [
    `${stackName}: ${said.length ? said.join(", ") : "no changes"}`,
    ...plan.steps.map(
      (s) => `  ${(MARK[s.op] ?? "*").padEnd(2)} ${s.op} ${s.name} (${shortType(s.type)})`,
    ),
  ];
}
