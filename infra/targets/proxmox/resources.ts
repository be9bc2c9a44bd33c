/**
 * The Proxmox target's dynamic resources, PveImage and PveVm. Their providers are location-free
 * stubs (stored in the state as serialized closures): they capture nothing but the module path
 * below dist/ and find provider-impl.js in the project at run time (infra/project-modules.ts).
 * The connection, token secret included, is an input and so part of the state, as a Pulumi
 * secret (the engine keeps an output secret when its input was, and the resources list it in
 * additionalSecretOutputs too).
 */
import * as pulumi from "@pulumi/pulumi";
import { requireProjectModule } from "../../project-modules";
import type { PveConnection } from "./client";
import type { PveImageInputs, PveImageState, PveVmInputs, PveVmOutputs } from "./provider-impl";

type Impl = typeof import("./provider-impl");
const IMPL = "infra/targets/proxmox/provider-impl.js";

export const pveImageProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: PveImageInputs) {
    const outs = await requireProjectModule<Impl>(IMPL).createImage(inputs);
    return { id: outs.volid, outs };
  },
  async diff(_id: string, olds: PveImageState, news: PveImageInputs) {
    const impl = requireProjectModule<Impl>(IMPL);
    const { changed, replaces } = impl.diffInputs(olds, news, impl.IMAGE_REPLACING_INPUTS);
    return { changes: changed.length > 0, replaces };
  },
  async update(_id: string, olds: PveImageState, news: PveImageInputs) {
    return { outs: { ...olds, ...news } };
  },
  async delete(_id: string, outs: PveImageState) {
    await requireProjectModule<Impl>(IMPL).deleteImage(outs);
  },
};

export const pveVmProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: PveVmInputs) {
    const outs = await requireProjectModule<Impl>(IMPL).createVmResource(inputs);
    return { id: `${outs.node}/${outs.vmid}`, outs };
  },
  async read(id: string, outs: PveVmOutputs) {
    return { id, props: await requireProjectModule<Impl>(IMPL).readVmResource(outs) };
  },
  async diff(_id: string, olds: PveVmOutputs, news: PveVmInputs) {
    const impl = requireProjectModule<Impl>(IMPL);
    const { changed, replaces } = impl.diffInputs(olds, news, impl.VM_REPLACING_INPUTS);
    return { changes: changed.length > 0 || replaces.length > 0, replaces };
  },
  async update(_id: string, olds: PveVmOutputs, news: PveVmInputs) {
    return { outs: { ...olds, ...news } };
  },
  async delete(_id: string, outs: PveVmOutputs) {
    await requireProjectModule<Impl>(IMPL).deleteVmResource(outs);
  },
};

/** Everything a PveImage is made from (documented on PveImageInputs); the connection's `tokenSecret` must be a Pulumi secret. */
export type PveImageArgs = Omit<PveImageInputs, "connection"> & {
  readonly connection: pulumi.Input<PveConnection>;
};

/** The image in a PVE storage. Type token `pulumi-nodejs:dynamic/proxmox:PveImage`. */
export class PveImage extends pulumi.dynamic.Resource {
  /** `<storage>:import/<filename>`, what VMs import from. */
  declare readonly volid: pulumi.Output<string>;
  /** False when the storage already had it (nothing uploaded). */
  declare readonly uploaded: pulumi.Output<boolean>;
  /** HTTP upload, ms (0 when skipped). */
  declare readonly uploadMs: pulumi.Output<number>;
  /** PVE's import task after the upload, ms (0 when skipped). */
  declare readonly importMs: pulumi.Output<number>;

  constructor(name: string, args: PveImageArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      pveImageProvider,
      name,
      { ...args, volid: undefined, uploaded: undefined, uploadMs: undefined, importMs: undefined },
      { ...opts, additionalSecretOutputs: ["connection"] },
      "proxmox",
      "PveImage",
    );
  }
}

/**
 * Everything a PveVm is made from (documented on VmRequest); the connection's `tokenSecret`
 * must be a Pulumi secret, `volid` is the PveImage's.
 */
export type PveVmArgs = Omit<PveVmInputs, "connection" | "volid"> & {
  readonly connection: pulumi.Input<PveConnection>;
  readonly volid: pulumi.Input<string>;
};

/** One VM. Type token `pulumi-nodejs:dynamic/proxmox:PveVm`. */
export class PveVm extends pulumi.dynamic.Resource {
  declare readonly vmid: pulumi.Output<number>;
  /** `exo-<instance>-<8 hex>`, unique. */
  declare readonly name: pulumi.Output<string>;
  declare readonly mac: pulumi.Output<string>;
  /** The guest's IPv4 address. */
  declare readonly address: pulumi.Output<string>;
  /** When the start task finished (epoch ms). */
  declare readonly startedAtEpochMs: pulumi.Output<number>;
  /** nextid → create task done, ms. */
  declare readonly createMs: pulumi.Output<number>;
  /** start task → running, ms. */
  declare readonly startMs: pulumi.Output<number>;
  declare readonly running: pulumi.Output<boolean>;

  constructor(name: string, args: PveVmArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      pveVmProvider,
      name,
      {
        ...args,
        vmid: undefined,
        name: undefined,
        mac: undefined,
        address: undefined,
        smbios1: undefined,
        startedAtEpochMs: undefined,
        createMs: undefined,
        startMs: undefined,
        running: undefined,
      },
      { ...opts, additionalSecretOutputs: ["connection"] },
      "proxmox",
      "PveVm",
    );
  }
}
