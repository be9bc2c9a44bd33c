/**
 * The local target: the image in QEMU on this machine (the default stack, no account needed).
 * What the CLI may ask of it: the serial console, whether QEMU still runs, and the progress
 * wording of its QemuVm resources.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readConsoleLines } from "../../../lib/console";
import type { InstanceOutput } from "../../outputs";
import { instanceExtras } from "../extras";
import type { Target } from "../target";
import { LocalInstanceExtrasSchema, LocalSettings, LocalSettingsSchema } from "./settings";

/** The local extras of an instance (throws naming it when they are malformed). */
function extrasOf(instance: InstanceOutput) {
  return instanceExtras(LocalInstanceExtrasSchema, instance, "local");
}

export const localTarget: Target<LocalSettings> = {
  name: "local",
  settingsSchema: LocalSettingsSchema,
  async deploy(ctx) {
    const { deployLocal } = await import("./deploy");
    return deployLocal(ctx);
  },
  resourcePhases: {
    "pulumi-nodejs:dynamic/local:QemuVm": {
      phase: "instance",
      verbs: {
        create: ["starting QEMU for", "running"],
        "create-replacement": ["starting the replacement QEMU for", "replacement running"],
        delete: ["stopping QEMU of", "stopped"],
        "delete-replaced": ["stopping the replaced QEMU of", "replaced one stopped"],
      },
      detail: (outs) =>
        ` (pid ${String(outs.pid)}, ${outs.netns ? `netns ${String(outs.netns)}` : "user-mode networking"})`,
    },
  },
  async readConsole(instance) {
    const { serialLog } = extrasOf(instance);
    const { inProject } = await import("./instance");
    const file = inProject(serialLog);
    if (!fs.existsSync(file)) return { source: serialLog };
    return { source: serialLog, text: readConsoleLines(file).join("\n").trim() };
  },
  async isRunning(instance) {
    const { pidFile, pid } = extrasOf(instance);
    const [{ inProject }, { isQemuRunning }] = await Promise.all([
      import("./instance"),
      import("./qemu"),
    ]);
    return isQemuRunning(inProject(pidFile), pid);
  },
  async listInstances(scope) {
    const { listLocalInstances } = await import("./orphans");
    return listLocalInstances(scope);
  },
  async sweep(scope, instances) {
    const { sweepLocalInstances } = await import("./orphans");
    await sweepLocalInstances(scope, instances);
  },
  async readFoundConsole(scope, id) {
    const { stackStateDir } = await import("../../state-dir");
    const file = path.join(
      stackStateDir(scope.projectDir, scope.stack),
      "instances",
      id,
      "serial.log",
    );
    const source = path.relative(scope.projectDir, file);
    if (!fs.existsSync(file)) return { source };
    return { source, text: readConsoleLines(file).join("\n").trim() };
  },
  localOnly: true,
  describeInstance(instance) {
    const { netns, pid } = extrasOf(instance);
    return `${netns ? `in netns ${netns}` : "via QEMU user-mode networking"} (pid ${pid})`;
  },
};
