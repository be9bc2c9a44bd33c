/**
 * One exoform VM on Proxmox VE: created from the imported image (`import-from`, qemu-server
 * `API2/Qemu.pm` create_vm), addressed through the SMBIOS serial (docs/boot-contract.md),
 * started, and later hard-stopped and destroyed with purge.
 *
 * VMIDs: `GET /cluster/nextid` reserves nothing, so a create can collide with someone else's;
 * and proxmox-api repeats a POST once when no answer came in time, so the first attempt may have
 * created the VM while the repeat reports "already exists". Every VM therefore gets a unique
 * name (`exo-<instance>-<8 hex>`); after a failed create, the config of that VMID tells whether
 * the VM is ours (adopt it), someone else's (new VMID) or absent (try again).
 */
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { PveSession } from "./client";
import { PveApiError } from "./errors";
import { vmTags } from "./image";
import {
  GuestAddressing,
  guestSerial,
  parseNextId,
  serialOfSmbios1,
  smbios1ForSerial,
  staticAddressOfSerial,
} from "./pve-rules";
import { waitForTask } from "./tasks";

/** How the VM gets its address: a static pool share, or DHCP. */
export type VmAddressing =
  | {
      readonly mode: "static";
      /** Every pool entry (`a.b.c.d/p`), in the stack's order. */
      readonly pool: readonly string[];
      readonly gateway?: string;
      /** This instance's index and the instance count: its share is pool[slot + k·slots]. */
      readonly slot: number;
      readonly slots: number;
    }
  | { readonly mode: "dhcp" };

export interface VmRequest {
  readonly node: string;
  /** `<stack>-<index>`: in the VM's name and messages. */
  readonly instance: string;
  /** The image id (the VM is tagged with it; a new id means a new VM). */
  readonly imageId: string;
  /** The imported image, `<storage>:import/<file>`. */
  readonly volid: string;
  /** Where the VM's disk is created. */
  readonly diskStorage: string;
  readonly bridge: string;
  readonly memoryMb: number;
  readonly addressing: VmAddressing;
  /** Longest wait for each task (create, start), ms. */
  readonly taskTimeoutMs: number;
  /** DHCP only: longest wait for the guest's `exo: ip` console line after start, ms. */
  readonly addressTimeoutMs: number;
}

export interface VmState {
  readonly vmid: number;
  readonly node: string;
  /** Unique name `exo-<instance>-<8 hex>`: tells our VM from another one with that VMID. */
  readonly name: string;
  readonly mac: string;
  /** The guest's IPv4 address (no prefix). */
  readonly address: string;
  /** The smbios1 value the VM was created with. */
  readonly smbios1: string;
  /** When the start task finished (epoch ms): health timings count from here. */
  readonly startedAtEpochMs: number;
  /** nextid → create task done (includes the disk copy of import-from), ms. */
  readonly createMs: number;
  /** Start task → status running, ms. */
  readonly startMs: number;
}

/** A DNS label from an instance name: lower case, [a-z0-9-], at most 40 characters. Pure. */
export function nameLabel(instance: string): string {
  const label = instance
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return label || "vm";
}

/** `exo-<label>-<nonce>`: a valid PVE VM name (a DNS name, pve-common `JSONSchema.pm`). Pure. */
export function vmNameFor(instance: string, nonce: string): string {
  return `exo-${nameLabel(instance)}-${nonce}`;
}

/** A locally administered unicast MAC derived from the VM name (stable for its life). Pure. */
export function macForName(name: string): string {
  const h = createHash("sha256").update(name).digest();
  const bytes = [0x02, h[0], h[1], h[2], h[3], h[4]];
  return bytes.map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/**
 * The pool entry for a new VM of instance `slot`: the first of its share (pool[slot],
 * pool[slot+slots], …) whose address no existing VM uses. Throws naming the share when all are
 * taken. Pure.
 */
export function pickPoolAddress(
  addressing: Extract<VmAddressing, { mode: "static" }>,
  inUse: ReadonlySet<string>,
): string {
  const share = addressing.pool.filter((_, i) => i % addressing.slots === addressing.slot);
  const free = share.find((cidr) => !inUse.has(cidr.split("/")[0]));
  if (free) return free;
  throw new Error(
    `no free address for instance ${addressing.slot} in exoform:proxmox.addressing.pool: its share (${share.join(", ")}) is in use by existing exoform VMs; add addresses to the pool or remove stale VMs`,
  );
}

/** The `POST /nodes/{node}/qemu` parameters of a new VM. Pure. */
export function createParameters(p: {
  vmid: number;
  name: string;
  mac: string;
  smbios1: string;
  req: VmRequest;
}): Record<string, string | number> {
  return {
    vmid: p.vmid,
    name: p.name,
    memory: p.req.memoryMb,
    cores: 1,
    bios: "seabios",
    ostype: "other",
    virtio0: `${p.req.diskStorage}:0,import-from=${p.req.volid}`,
    boot: "order=virtio0",
    net0: `virtio=${p.mac},bridge=${p.req.bridge}`,
    serial0: "socket",
    smbios1: p.smbios1,
    tags: vmTags(p.req.imageId),
  };
}

const VmListSchema = z.array(
  z.looseObject({ vmid: z.union([z.number(), z.string()]), name: z.string().optional() }),
);
const VmConfigSchema = z.looseObject({
  name: z.string().optional(),
  smbios1: z.string().optional(),
  lock: z.string().optional(),
});
type VmConfig = z.infer<typeof VmConfigSchema>;
const VmStatusSchema = z.looseObject({ status: z.string() });

/** The config of `vmid`, or undefined when no VM has that id (PVE answers 500 "… does not exist"). */
export async function vmConfig(
  session: PveSession,
  node: string,
  vmid: number,
): Promise<VmConfig | undefined> {
  try {
    return await session.call(`read VM ${vmid} on ${node}`, VmConfigSchema, (api) =>
      api.nodes.$(node).qemu.$(vmid).config.$get(),
    );
  } catch (e) {
    if (e instanceof PveApiError && isNoSuchVm(e)) return undefined;
    throw e;
  }
}

/** Whether the error says the VM does not exist (qemu-server: "Configuration file … does not exist"). */
export function isNoSuchVm(e: PveApiError): boolean {
  return (
    (e.status === 500 || e.status === 404) &&
    /does not exist|no such VM/i.test(e.failure?.reason ?? e.message)
  );
}

/** Addresses that existing exoform VMs on `node` (any stack) were given through smbios1. */
async function addressesInUse(session: PveSession, node: string): Promise<Set<string>> {
  const vms = await session.call(`list VMs on ${node}`, VmListSchema, (api) =>
    api.nodes.$(node).qemu.$get(),
  );
  const inUse = new Set<string>();
  for (const vm of vms.filter((v) => v.name?.startsWith("exo-"))) {
    const config = await vmConfig(session, node, Number(vm.vmid));
    const serial = config?.smbios1 ? serialOfSmbios1(config.smbios1) : undefined;
    const address = serial ? staticAddressOfSerial(serial) : undefined;
    if (address) inUse.add(address);
  }
  return inUse;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many VMIDs to try before giving up on collisions. */
const CREATE_ATTEMPTS = 5;

/**
 * Creates and starts the VM; on any failure after the create went through, destroys it again
 * (a failed create leaves nothing in the state, so nothing else would). `learnAddress` finds a
 * DHCP guest's address (console.ts); it is not called for static addressing.
 */
export async function createVm(
  session: PveSession,
  req: VmRequest,
  learnAddress: (vm: { node: string; vmid: number }, timeoutMs: number) => Promise<string>,
): Promise<VmState> {
  const name = vmNameFor(req.instance, randomBytes(4).toString("hex"));
  const mac = macForName(name);
  let addressing: GuestAddressing = { mode: "dhcp" };
  if (req.addressing.mode === "static") {
    const cidr = pickPoolAddress(req.addressing, await addressesInUse(session, req.node));
    addressing = {
      mode: "static",
      address: cidr,
      ...(req.addressing.gateway && { gateway: req.addressing.gateway }),
    };
  }
  const smbios1 = smbios1ForSerial(guestSerial(addressing));
  const createStarted = Date.now();
  const vmid = await createWithGuard(session, req, { name, mac, smbios1 });
  const createMs = Date.now() - createStarted;
  try {
    const startStarted = Date.now();
    await startVm(session, req.node, vmid, req.taskTimeoutMs);
    const startedAtEpochMs = Date.now();
    const address =
      addressing.mode === "static"
        ? addressing.address.split("/")[0]
        : await learnAddress({ node: req.node, vmid }, req.addressTimeoutMs);
    return {
      vmid,
      node: req.node,
      name,
      mac,
      address,
      smbios1,
      startedAtEpochMs,
      createMs,
      startMs: startedAtEpochMs - startStarted,
    };
  } catch (e) {
    await destroyVm(session, {
      node: req.node,
      vmid,
      name,
      taskTimeoutMs: req.taskTimeoutMs,
    }).catch(() => undefined);
    throw e;
  }
}

/**
 * `POST /nodes/{node}/qemu` until a VM named `name` exists and its create task finished;
 * returns its VMID. See the module comment for the guard.
 */
async function createWithGuard(
  session: PveSession,
  req: VmRequest,
  vm: { name: string; mac: string; smbios1: string },
): Promise<number> {
  let vmid: number | undefined;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= CREATE_ATTEMPTS; attempt++) {
    vmid ??= parseNextId(
      await session.call("get a free VMID", z.unknown(), (api) => api.cluster.nextid.$get()),
    );
    const doing = `create VM ${vmid} (${vm.name}) on ${req.node}`;
    let upid: unknown;
    try {
      upid = await session.call(doing, z.string(), (api) =>
        api.nodes.$(req.node).qemu.$post(createParameters({ vmid: vmid!, ...vm, req }) as never),
      );
    } catch (e) {
      if (!(e instanceof PveApiError)) throw e;
      lastError = e;
      const existing = await vmConfig(session, req.node, vmid);
      if (existing?.name === vm.name) {
        // Ours: an earlier attempt went through (its answer was lost). Wait until its create
        // task drops the config lock, then go on.
        await waitUntilUnlocked(session, req.node, vmid, req.taskTimeoutMs);
        return vmid;
      }
      if (existing) {
        vmid = undefined; // someone else's VM took this VMID between nextid and create
        continue;
      }
      if (e.noAnswer || /already exists/i.test(e.message)) {
        await sleep(1000); // no VM yet: the same VMID again (a late first POST is caught above)
        continue;
      }
      throw e;
    }
    try {
      await waitForTask(session, upid, `create VM ${vmid} (${vm.name})`, {
        timeoutMs: req.taskTimeoutMs,
      });
    } catch (e) {
      await destroyVm(session, {
        node: req.node,
        vmid,
        name: vm.name,
        taskTimeoutMs: req.taskTimeoutMs,
      }).catch(() => undefined);
      throw e;
    }
    return vmid;
  }
  throw new Error(
    `create VM (${vm.name}) on ${req.node}: gave up after ${CREATE_ATTEMPTS} attempts (last: ${lastError?.message ?? "VMID collisions"})`,
  );
}

/** Polls the config until it has no `lock` (the create task holds `lock: create`). */
async function waitUntilUnlocked(
  session: PveSession,
  node: string,
  vmid: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const config = await vmConfig(session, node, vmid);
    if (!config) throw new Error(`VM ${vmid} on ${node} disappeared while it was being created`);
    if (!config.lock) return;
    if (Date.now() > deadline)
      throw new Error(
        `VM ${vmid} on ${node} is still locked (${config.lock}) after ${timeoutMs / 1000} s`,
      );
    await sleep(500);
  }
}

/** Starts the VM and waits until PVE reports it running. */
async function startVm(session: PveSession, node: string, vmid: number, timeoutMs: number) {
  try {
    const upid = await session.call(`start VM ${vmid} on ${node}`, z.string(), (api) =>
      api.nodes.$(node).qemu.$(vmid).status.start.$post(),
    );
    await waitForTask(session, upid, `start VM ${vmid}`, { timeoutMs });
  } catch (e) {
    // A start whose answer was lost is repeated by proxmox-api, and the repeat fails with
    // "already running": what counts is that the VM runs.
    if ((await vmStatus(session, node, vmid)).status !== "running") throw e;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await vmStatus(session, node, vmid);
    if (status === "running") return;
    if (Date.now() > deadline)
      throw new Error(
        `VM ${vmid} on ${node} is ${status}, not running, ${timeoutMs / 1000} s after its start`,
      );
    await sleep(500);
  }
}

async function vmStatus(session: PveSession, node: string, vmid: number) {
  return session.call(`read the status of VM ${vmid}`, VmStatusSchema, (api) =>
    api.nodes.$(node).qemu.$(vmid).status.current.$get(),
  );
}

/** Whether the VM still exists under its name and runs; undefined when it is gone or not ours. */
export async function observeVm(
  session: PveSession,
  vm: Pick<VmState, "node" | "vmid" | "name">,
): Promise<{ running: boolean } | undefined> {
  const config = await vmConfig(session, vm.node, vm.vmid);
  if (!config || config.name !== vm.name) return undefined;
  const { status } = await vmStatus(session, vm.node, vm.vmid);
  return { running: status === "running" };
}

/**
 * Hard stop (the kernel has no ACPI shutdown), then destroy with purge (also removes it from
 * jobs and HA). A VMID that no longer exists, or now belongs to a VM of another name, is left
 * alone: ours is gone. Returns what it did.
 */
export async function destroyVm(
  session: PveSession,
  vm: Pick<VmState, "node" | "vmid" | "name"> & { taskTimeoutMs: number },
): Promise<"destroyed" | "gone"> {
  const config = await vmConfig(session, vm.node, vm.vmid);
  if (!config || config.name !== vm.name) return "gone";
  const { status } = await vmStatus(session, vm.node, vm.vmid);
  if (status !== "stopped") {
    const upid = await session.call(`stop VM ${vm.vmid}`, z.string(), (api) =>
      api.nodes.$(vm.node).qemu.$(vm.vmid).status.stop.$post(),
    );
    await waitForTask(session, upid, `stop VM ${vm.vmid}`, { timeoutMs: vm.taskTimeoutMs });
  }
  let upid: string;
  try {
    upid = await session.call(`destroy VM ${vm.vmid}`, z.string(), (api) =>
      api.nodes
        .$(vm.node)
        .qemu.$(vm.vmid)
        .$delete({ purge: true, "destroy-unreferenced-disks": true }),
    );
  } catch (e) {
    // proxmox-api repeats a DELETE whose answer was lost; the repeat then finds no VM (or the
    // first one's task still running). Either way: done once the VM is gone.
    if (e instanceof PveApiError && (isNoSuchVm(e) || e.noAnswer)) {
      await waitUntilGone(session, vm, vm.taskTimeoutMs, e);
      return "destroyed";
    }
    throw e;
  }
  await waitForTask(session, upid, `destroy VM ${vm.vmid}`, { timeoutMs: vm.taskTimeoutMs });
  return "destroyed";
}

/** Polls until the VM (by VMID and name) no longer exists; throws `cause` after the timeout. */
async function waitUntilGone(
  session: PveSession,
  vm: Pick<VmState, "node" | "vmid" | "name">,
  timeoutMs: number,
  cause: Error,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const config = await vmConfig(session, vm.node, vm.vmid);
    if (!config || config.name !== vm.name) return;
    if (Date.now() > deadline) throw cause;
    await sleep(500);
  }
}
