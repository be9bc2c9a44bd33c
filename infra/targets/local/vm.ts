/**
 * QemuVm: one QEMU process running the image, as a Pulumi dynamic resource. The serialized
 * provider is only a stub that finds `instance.js` in the project as it is at run time
 * (infra/project-modules.ts), so the delete stored in the state runs the current implementation,
 * also after the project moved.
 */
import * as pulumi from "@pulumi/pulumi";
import { requireProjectModule } from "../../project-modules";
import type { QemuVmInputs, QemuVmState } from "./instance";

type Impl = typeof import("./instance");
const IMPL = "infra/targets/local/instance.js";

export const qemuVmProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: QemuVmInputs) {
    const state = await requireProjectModule<Impl>(IMPL).startInstance(inputs);
    return { id: state.id, outs: state };
  },
  async read(id: string, props: QemuVmState) {
    return { id, props: requireProjectModule<Impl>(IMPL).observeInstance(props) };
  },
  async diff(_id: string, olds: QemuVmState, news: QemuVmInputs) {
    const replaces = requireProjectModule<Impl>(IMPL).replacementReasons(olds, news);
    return { changes: replaces.length > 0, replaces };
  },
  async delete(_id: string, props: QemuVmState) {
    await requireProjectModule<Impl>(IMPL).stopInstance(props);
  },
};

export class QemuVm extends pulumi.dynamic.Resource {
  /** Base URL of the guest's HTTP server as reachable from `netns` (or the host). */
  declare readonly httpUrl: pulumi.Output<string>;
  /** The address to ping, absent when ICMP cannot reach the guest. */
  declare readonly pingAddress: pulumi.Output<string | undefined>;
  declare readonly icmpSkipReason: pulumi.Output<string | undefined>;
  declare readonly netns: pulumi.Output<string | undefined>;
  declare readonly pid: pulumi.Output<number>;
  declare readonly startedAtEpochMs: pulumi.Output<number>;
  /** Milliseconds from the start of create to a running QEMU. */
  declare readonly createMs: pulumi.Output<number>;
  declare readonly serialLog: pulumi.Output<string>;
  declare readonly pidFile: pulumi.Output<string>;
  declare readonly running: pulumi.Output<boolean>;

  /** `inputs`: everything QEMU is started with (plain values: known at plan time); any change replaces the VM. */
  constructor(name: string, inputs: QemuVmInputs, opts?: pulumi.CustomResourceOptions) {
    super(
      qemuVmProvider,
      name,
      {
        ...inputs,
        httpUrl: undefined,
        pingAddress: undefined,
        icmpSkipReason: undefined,
        netns: undefined,
        pid: undefined,
        startedAtEpochMs: undefined,
        createMs: undefined,
        serialLog: undefined,
        pidFile: undefined,
        running: undefined,
      },
      opts,
      "local",
      "QemuVm",
    );
  }
}
