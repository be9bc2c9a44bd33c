/**
 * QemuVm: one QEMU process running the image, as a Pulumi dynamic resource. The serialized
 * provider is only a stub that require()s `instance.js` by absolute path (captured by value), so
 * the delete stored in the state runs the current implementation.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { QemuVmInputs, QemuVmState } from "./instance";

const instanceModulePath = path.join(__dirname, "instance.js");

export const qemuVmProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: QemuVmInputs) {
    const impl = require(instanceModulePath) as typeof import("./instance");
    const state = await impl.startInstance(inputs);
    return { id: state.id, outs: state };
  },
  async read(id: string, props: QemuVmState) {
    const impl = require(instanceModulePath) as typeof import("./instance");
    return { id, props: impl.observeInstance(props) };
  },
  async diff(_id: string, olds: QemuVmState, news: QemuVmInputs) {
    const impl = require(instanceModulePath) as typeof import("./instance");
    const replaces = impl.replacementReasons(olds, news);
    return { changes: replaces.length > 0, replaces };
  },
  async delete(_id: string, props: QemuVmState) {
    const impl = require(instanceModulePath) as typeof import("./instance");
    await impl.stopInstance(props);
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
