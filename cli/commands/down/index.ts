/**
 * `exoform down [stack]`: lists what it will destroy and asks (unless --yes), then
 * `pulumi destroy` (stops QEMU, removes namespaces, dnsmasq and instance files), sweeps every
 * instance of the stack a target still finds (an interrupted create, a deleted state), and
 * removes the stack's working directory `.exoform/stacks/<stack>/` — nothing outside it. The
 * stack itself stays in the backend with its history, and its stack file is left alone. Destroy
 * needs no configuration: a broken or deleted stack file does not stop it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { removeStackStateDir, stackStateDir } from "../../../infra/state-dir";
import { Command, CommandContext, stackArg, yesFlag } from "../../command";
import { confirmOrStop, requireYesWhenNonInteractive } from "../../confirm";
import { engineOperation } from "../../operation";
import { foundInstances, recoverLocks, recoverStack, stateOf, sweepInstances } from "../../recover";
import { readStackFile } from "../../stack-file";
import { existingStack, projectDir, pulumiCall } from "../../stack";

export const downCommand: Command = {
  name: "down",
  usage: "down [stack] [--yes]",
  summary: "destroy a stack's instances and remove its working files; asks first unless --yes",
  options: { yes: { type: "boolean", short: "y" } },
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const yes = yesFlag(ctx);
    requireYesWhenNonInteractive("down", yes, ctx.json);
    const onEvent = ctx.output.event;
    const dir = projectDir();
    const fileProblem = stackFileProblem(dir, name);
    const stack = await existingStack(name);
    recoverLocks(name, onEvent);
    const state = await stateOf(stack);
    const resources = state.resources.filter(
      (r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"),
    );
    const found = await foundInstances(name);
    const owned = new Set(resources.map((r) => r.id));
    const orphans = found.filter((f) => !owned.has(f.instance.id));
    const workDir = stackStateDir(dir, name);
    const hasFiles = fs.existsSync(workDir);
    const nothing =
      resources.length === 0 && state.pending.length === 0 && found.length === 0 && !hasFiles;

    if (!nothing && !yes) {
      process.stderr.write(
        [
          `${name}: will destroy`,
          ...resources.map((r) => `  - ${r.urn.split("::").pop()} (${r.type})`),
          ...state.pending.map((p) => `  - ${p.urn.split("::").pop()} (pending ${p.type})`),
          ...orphans.map((o) => `  - ${o.instance.description} (not in the state)`),
          ...(hasFiles ? [`  - the working files ${workDir}`] : []),
          "",
        ].join("\n"),
      );
      await confirmOrStop(`Do you want to destroy ${name}?`, false);
    }

    await recoverStack(name, stack, onEvent);
    let destroyed = 0;
    if (stack && resources.length > 0) {
      onEvent({ phase: "destroy", status: "start", message: `pulumi destroy ${name}` });
      const configFile = fileProblem ? substituteConfigFile(dir, name) : undefined;
      if (configFile) {
        // After destroying, the Automation API reads the summary with `pulumi stack history`,
        // which has no --config-file and fails on the broken file; the deletions are counted
        // from the engine events instead.
        (stack as unknown as { info: () => Promise<undefined> }).info = async () => undefined;
      }
      try {
        await engineOperation(stack, onEvent, (run) =>
          pulumiCall(() =>
            stack.destroy({
              color: "never",
              signal: run.signal,
              onEvent: (e) => {
                run.onEvent(e);
                const step = e.resOutputsEvent?.metadata;
                if (step?.op === "delete" && step.type !== "pulumi:pulumi:Stack") destroyed++;
              },
              ...(configFile && { configFile: configFile.file }),
            }),
          ),
        );
      } finally {
        configFile?.remove();
      }
      onEvent({ phase: "destroy", status: "stop", message: `${destroyed} resource(s) deleted` });
    }
    // Whatever a target still finds of the stack (the state owns nothing any more).
    const left = await foundInstances(name);
    if (left.length > 0) {
      await sweepInstances(name, left);
      onEvent({
        phase: "recover",
        status: "stop",
        message: `swept ${left.length} instance(s) no state owned: ${left.map((l) => l.instance.description).join("; ")}`,
      });
    }
    const removed = removeStackStateDir(dir, name);
    const swept = orphans.length + left.length;
    const lines = [
      nothing
        ? `${name} was never deployed: nothing to destroy`
        : `${name} is down: ${destroyed} resource(s) deleted${swept ? `, ${swept} orphaned instance(s) swept` : ""}`,
      ...(fileProblem
        ? [`  (the stack file is not usable: ${fileProblem}; destroyed without it)`]
        : []),
      ...(removed ? [`  removed ${removed}`] : []),
    ];
    ctx.output.result(
      "down",
      { stack: name, deleted: destroyed, swept, removed: removed ?? null },
      lines,
    );
  },
};

/** Why the stack file cannot be given to Pulumi (missing, broken), or undefined when it can. */
function stackFileProblem(dir: string, name: string): string | undefined {
  try {
    return readStackFile(dir, name, false) ? undefined : "there is none";
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * A stand-in stack file for destroy, which needs no configuration: only the broken file's
 * `encryptionsalt` line when one can be read (the passphrase's salt), in a private temp dir.
 */
function substituteConfigFile(dir: string, name: string): { file: string; remove(): void } {
  let salt = "";
  try {
    const text = fs.readFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), "utf8");
    salt = /^encryptionsalt: *\S+ *$/m.exec(text)?.[0] ?? "";
  } catch {
    // missing, or a directory
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-destroy-"));
  const file = path.join(tmp, `Pulumi.${name}.yaml`);
  fs.writeFileSync(file, salt ? `${salt}\n` : "config: {}\n", { mode: 0o600 });
  return { file, remove: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}
