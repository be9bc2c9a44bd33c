/**
 * What the Proxmox dynamic providers (resources.ts) run: the stubs stored in the state find this
 * module at run time (`requireProjectModule`), so `destroy` always runs the current code. Each
 * operation opens its own API session from the connection in the inputs/state and closes it.
 * Outputs never hold `undefined` (the engine's protobuf Struct cannot carry it).
 */
import * as path from "node:path";
import { projectDirFor } from "../../project-modules";
import { PveConnection, withSession } from "./client";
import { learnAddressFromConsole } from "./console";
import { deleteImageIfUnused, importImage } from "./image";
import { createVm, destroyVm, observeVm, VmRequest, VmState } from "./vm";

/** Inputs of a PveImage: one image file imported into one storage. */
export interface PveImageInputs {
  readonly connection: PveConnection;
  readonly node: string;
  readonly storage: string;
  /** The artefact, relative to the project directory (the state stays valid when it moves). */
  readonly file: string;
  /** Its name on the storage (`exoform-<image id>.<raw|vmdk>`). */
  readonly filename: string;
  readonly sha256: string;
  readonly imageId: string;
  readonly taskTimeoutMs: number;
}

export interface PveImageState extends PveImageInputs {
  readonly volid: string;
  readonly uploaded: boolean;
  readonly uploadMs: number;
  readonly importMs: number;
}

/** A path of the inputs as an absolute path in the project as it is now. */
function inProject(file: string): string {
  return path.resolve(projectDirFor("infra/targets/proxmox/provider-impl.js"), file);
}

export async function createImage(inputs: PveImageInputs): Promise<PveImageState> {
  const imported = await withSession(inputs.connection, (session) =>
    importImage(session, {
      node: inputs.node,
      storage: inputs.storage,
      file: inProject(inputs.file),
      filename: inputs.filename,
      sha256: inputs.sha256,
      taskTimeoutMs: inputs.taskTimeoutMs,
    }),
  );
  return { ...inputs, ...imported };
}

export async function deleteImage(state: PveImageState): Promise<void> {
  await withSession(state.connection, (session) =>
    deleteImageIfUnused(session, {
      node: state.node,
      storage: state.storage,
      volid: state.volid,
      imageId: state.imageId,
      taskTimeoutMs: state.taskTimeoutMs,
    }),
  );
}

/** Inputs whose change makes a new image volume; the others (connection, paths, timeouts) do not. */
export const IMAGE_REPLACING_INPUTS = ["node", "storage", "filename", "sha256"] as const;

/**
 * Inputs of a PveVm: one VM made from an imported image (VmRequest without the DHCP address
 * wait, which is the task timeout), and the connection.
 */
export interface PveVmInputs extends Omit<VmRequest, "addressTimeoutMs"> {
  readonly connection: PveConnection;
}

export interface PveVmOutputs extends PveVmInputs, VmState {
  /** Whether PVE reported the VM running when last observed (create or refresh). */
  readonly running: boolean;
}

/** Inputs whose change makes a new VM (import-from and smbios1 apply at create only). */
export const VM_REPLACING_INPUTS = [
  "node",
  "imageId",
  "volid",
  "diskStorage",
  "bridge",
  "memoryMb",
  "addressing",
] as const;

export async function createVmResource(inputs: PveVmInputs): Promise<PveVmOutputs> {
  const state = await withSession(inputs.connection, (session) =>
    createVm(session, { ...inputs, addressTimeoutMs: inputs.taskTimeoutMs }, (vm, timeoutMs) =>
      learnAddressFromConsole(session, vm, timeoutMs),
    ),
  );
  return { ...inputs, ...state, running: true };
}

/** Refresh: `running` from PVE; a VM that is gone (or whose VMID now has another name) is not running. */
export async function readVmResource(outs: PveVmOutputs): Promise<PveVmOutputs> {
  const seen = await withSession(outs.connection, (session) => observeVm(session, outs));
  return { ...outs, running: seen?.running ?? false };
}

export async function deleteVmResource(outs: PveVmOutputs): Promise<void> {
  await withSession(outs.connection, (session) =>
    destroyVm(session, { ...outs, taskTimeoutMs: outs.taskTimeoutMs }),
  );
}

/**
 * Which inputs changed, and which of them force a replacement (plus `running` when the last
 * refresh found the VM stopped or gone). Pure.
 */
export function diffInputs(
  oldState: object,
  newInputs: object,
  replacing: readonly string[],
): { changed: string[]; replaces: string[] } {
  const olds = oldState as Readonly<Record<string, unknown>>;
  const news = newInputs as Readonly<Record<string, unknown>>;
  const keys = new Set([...Object.keys(news)].filter((k) => k in olds || news[k] !== undefined));
  const changed = [...keys].filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
  const replaces = changed.filter((k) => replacing.includes(k));
  if (olds.running === false) replaces.push("running");
  return { changed, replaces };
}
