/**
 * `exoform down [stack]`: `pulumi destroy` (stops QEMU, removes namespaces, dnsmasq and
 * instance files), then removes the stack's working directory (image builds included). The
 * stack itself stays in the backend with its history, and its stack file is left alone.
 */
import * as fs from "node:fs";
import { stackStateDir } from "../../../infra/state-dir";
import { Command, CommandContext, stackArg } from "../../command";
import { newEngineEventState, translateEngineEvent } from "../../engine-events";
import { openEventChannel } from "../../event-channel";
import { existingStack, projectDir, pulumiCall } from "../../stack";

export const downCommand: Command = {
  name: "down",
  usage: "down [stack]",
  summary: "destroy a stack's instances and remove its working files",
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const onEvent = ctx.output.event;
    const stack = await existingStack(name);
    let destroyed = 0;
    if (stack) {
      onEvent({ phase: "destroy", status: "start", message: `pulumi destroy ${name}` });
      const state = newEngineEventState();
      const channel = await openEventChannel(stack, onEvent);
      const result = await pulumiCall(() =>
        stack.destroy({
          color: "never",
          onEvent: (e) => translateEngineEvent(e, state).forEach(onEvent),
        }),
      ).finally(() => channel.close());
      destroyed = result.summary.resourceChanges?.delete ?? 0;
      onEvent({ phase: "destroy", status: "stop", message: `${destroyed} resource(s) deleted` });
    }
    const dir = stackStateDir(projectDir(), name);
    const hadFiles = fs.existsSync(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    const lines = [
      stack ? `${name} is down: ${destroyed} resource(s) deleted` : `${name} was never deployed`,
      ...(hadFiles ? [`  removed ${dir}`] : []),
    ];
    ctx.output.result(
      "down",
      { stack: name, deleted: destroyed, removed: hadFiles ? dir : null },
      lines,
    );
  },
};
