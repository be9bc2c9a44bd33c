/**
 * The Proxmox target's VM lifecycle against the PVE emulator with its bridge network (root:
 * the emulator makes a network namespace with a bridge; QEMU boots the real image there): import
 * the image, create a VM from it with a static pool address in smbios1, see it healthy over ICMP
 * and HTTP from inside the namespace, create its replacement beside it on the next pool address,
 * and the double-create guard when the create's answer is lost. Then destroy both and the image.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildImage, BuildResult, ImageConfigSchema } from "../../../image-builder";
import type * as Health from "../../../infra/health";
import { HealthThresholdsSchema } from "../../../infra/health/thresholds";
import { PveConnection, PveSession } from "../../../infra/targets/proxmox/client";
import { deleteImageIfUnused, importImage } from "../../../infra/targets/proxmox/image";
import { importFilenameFor } from "../../../infra/targets/proxmox/pve-rules";
import { z } from "zod";
import {
  createVm,
  destroyVm,
  vmConfig,
  VmRequest,
  VmState,
} from "../../../infra/targets/proxmox/vm";
import { learnAddressFromConsole, readConsoleFor } from "../../../infra/targets/proxmox/console";
import type { InstanceOutput } from "../../../infra/outputs";
import { proxmoxTarget, TOKEN_SECRET_ENV } from "../../../infra/targets/proxmox";
import { ProxmoxEmulator } from "../../emulators/proxmox/emulator";
import { repoRoot } from "../../helpers/pulumi";
import { describeAsRoot } from "../../helpers/privilege";

jest.setTimeout(300_000);

describeAsRoot("Proxmox VMs on the emulator's bridge network", () => {
  let pve: ProxmoxEmulator;
  let dir: string;
  let image: BuildResult;
  let session: PveSession;
  let volid: string;

  const POOL = ["10.0.2.50/24", "10.0.2.51/24"];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-pve-vm-test-"));
    image = await buildImage({ config: ImageConfigSchema.parse({}), outDir: dir });
    pve = await ProxmoxEmulator.start({ authFailureDelayMs: 20 });
    const connection: PveConnection = {
      endpoint: pve.url,
      tokenId: pve.token.id,
      tokenSecret: pve.token.secret,
      tls: { mode: "fingerprint", sha256: pve.cert.fingerprint256 },
      // short, so that a stalled answer makes proxmox-api time out and repeat the POST
      queryTimeoutMs: 3000,
    };
    session = new PveSession(connection);
    volid = await importTestImage();
  });

  /** Imports the built image (again, after a test deleted it); returns its volid. */
  async function importTestImage(): Promise<string> {
    const imported = await importImage(session, {
      node: pve.node,
      storage: "local",
      file: image.raw.path,
      filename: importFilenameFor(image.imageId, "raw"),
      sha256: image.raw.sha256,
      taskTimeoutMs: 60_000,
    });
    return imported.volid;
  }

  afterAll(async () => {
    await session?.close();
    await pve?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function request(): VmRequest {
    return {
      node: pve.node,
      instance: "pvetest-0",
      imageId: image.imageId,
      volid,
      diskStorage: "local-lvm",
      bridge: "vmbr0",
      memoryMb: 16,
      addressing: { mode: "static", pool: POOL, gateway: "10.0.2.2", slot: 0, slots: 1 },
      taskTimeoutMs: 60_000,
      addressTimeoutMs: 60_000,
    };
  }

  // Probes inside a namespace run in a child (`ip netns exec node dist/infra/health/in-netns.js`),
  // so the compiled health module is used (the bootstrap's tsc made it).
  const { checkHealth } = require(path.join(repoRoot, "dist", "infra", "health")) as typeof Health;

  async function healthOf(vm: VmState) {
    return checkHealth({
      instance: vm.name,
      expectedBuild: image.imageId,
      httpUrl: `http://${vm.address}/health`,
      icmp: { address: vm.address },
      startedAtEpochMs: vm.startedAtEpochMs,
      thresholds: HealthThresholdsSchema.parse({ deadlineSeconds: 120 }),
      netns: pve.network!.netns,
    });
  }

  test("create (with a lost answer), health, a replacement beside it, destroy, image delete", async () => {
    const postsBefore = pve.requests.filter(
      (r) => r.method === "POST" && r.template === "/nodes/{node}/qemu",
    ).length;
    // The create goes through, but its answer comes after proxmox-api's timeout: proxmox-api
    // repeats the POST, which PVE refuses ("already exists"); the guard finds the VM by name.
    pve.inject.stallNextResponse("POST", "/nodes/{node}/qemu", 5000);
    const blue = await createVm(session, request(), () =>
      Promise.reject(new Error("static: not called")),
    );
    const posts = pve.requests.filter(
      (r) => r.method === "POST" && r.template === "/nodes/{node}/qemu",
    );
    expect(posts.length - postsBefore).toBe(2);
    expect(posts.at(-1)!.status).toBe(500);
    expect(pve.leftovers().vms).toEqual([blue.vmid]);
    expect(blue.address).toBe("10.0.2.50");
    expect(blue.name).toMatch(/^exo-pvetest-0-[0-9a-f]{8}$/);

    const blueHealth = await healthOf(blue);
    expect(blueHealth.failures).toEqual([]);
    expect(blueHealth).toMatchObject({ healthy: true, http: { build: image.imageId } });

    // A replacement starts beside it, on the other address of the instance's share.
    const green = await createVm(session, request(), () =>
      Promise.reject(new Error("static: not called")),
    );
    expect(green.address).toBe("10.0.2.51");
    expect(green.vmid).not.toBe(blue.vmid);
    expect((await healthOf(green)).healthy).toBe(true);

    // With no free address left in the share, a third create says so and leaves nothing behind.
    await expect(
      createVm(session, request(), () => Promise.reject(new Error("unused"))),
    ).rejects.toThrow(/no free address for instance 0 .*10\.0\.2\.50\/24, 10\.0\.2\.51\/24/);

    const done = { node: pve.node, taskTimeoutMs: 60_000 };
    expect(await destroyVm(session, { ...blue, ...done })).toBe("destroyed");
    // The image stays while a VM made from it exists.
    const kept = await deleteImageIfUnused(session, {
      node: pve.node,
      storage: "local",
      volid,
      imageId: image.imageId,
      taskTimeoutMs: 60_000,
    });
    expect(kept).toEqual({ keptFor: [green.vmid] });
    expect(await destroyVm(session, { ...green, ...done })).toBe("destroyed");
    expect(await destroyVm(session, { ...green, ...done })).toBe("gone");
    expect(
      await deleteImageIfUnused(session, {
        node: pve.node,
        storage: "local",
        volid,
        imageId: image.imageId,
        taskTimeoutMs: 60_000,
      }),
    ).toBe("deleted");
    expect(pve.leftovers()).toEqual({ vms: [], volumes: [], runningVms: [] });
    expect(pve.schemaViolations()).toEqual([]);
  });

  test("a create task that fails removes the VM again and reports the exit status", async () => {
    const vmsBefore = pve.leftovers().vms;
    pve.inject.failNextTask("qmcreate", "unable to import disk: out of space");
    volid = await importTestImage();
    await expect(
      createVm(session, request(), () => Promise.reject(new Error("unused"))),
    ).rejects.toThrow(
      /^create VM \d+ \(exo-pvetest-0-[0-9a-f]{8}\) failed: task qmcreate on pve ended with: unable to import disk: out of space/,
    );
    expect(pve.leftovers().vms).toEqual(vmsBefore);
  });

  test("the streamOptimized VMDK imports too, and a VM made from it is healthy", async () => {
    const imported = await importImage(session, {
      node: pve.node,
      storage: "local",
      file: image.vmdk.path,
      filename: importFilenameFor(image.imageId, "vmdk"),
      sha256: image.vmdk.sha256,
      taskTimeoutMs: 60_000,
    });
    expect(imported.volid).toBe(`local:import/exoform-${image.imageId}.vmdk`);
    const vm = await createVm(session, { ...request(), volid: imported.volid }, () =>
      Promise.reject(new Error("static")),
    );
    try {
      expect((await healthOf(vm)).http.build).toBe(image.imageId);
    } finally {
      await destroyVm(session, { ...vm, taskTimeoutMs: 60_000 });
    }
    expect(
      await deleteImageIfUnused(session, {
        node: pve.node,
        storage: "local",
        volid: imported.volid,
        imageId: image.imageId,
        taskTimeoutMs: 60_000,
      }),
    ).toBe("deleted");
  });

  test("a destroy whose answer is lost (the client repeats the DELETE) still ends with the VM gone", async () => {
    const vm = await createVm(session, request(), () => Promise.reject(new Error("static")));
    pve.inject.dropNextResponse("DELETE", "/nodes/{node}/qemu/{vmid}");
    const seen = pve.requests.length; // VMIDs are reused: count this test's requests only
    expect(await destroyVm(session, { ...vm, taskTimeoutMs: 60_000 })).toBe("destroyed");
    const deletes = pve.requests
      .slice(seen)
      .filter((q) => q.method === "DELETE" && q.path === `/nodes/pve/qemu/${vm.vmid}`);
    expect(deletes.map((q) => q.status)).toEqual([200, 500]);
    await pve.pve.tasks.settle();
    expect(pve.leftovers().vms).not.toContain(vm.vmid);
  });

  test("a start whose answer is lost (the client repeats it: already running) goes on", async () => {
    pve.inject.dropNextResponse("POST", "/nodes/{node}/qemu/{vmid}/status/start");
    const seen = pve.requests.length; // VMIDs are reused: count this test's requests only
    const vm = await createVm(session, request(), () => Promise.reject(new Error("static")));
    try {
      const starts = pve.requests
        .slice(seen)
        .filter((q) => q.method === "POST" && q.path === `/nodes/pve/qemu/${vm.vmid}/status/start`);
      expect(starts.length).toBe(2);
      expect((await healthOf(vm)).healthy).toBe(true);
    } finally {
      await destroyVm(session, { ...vm, taskTimeoutMs: 60_000 });
    }
  });

  test("a VMID taken by someone else between nextid and create: a new VMID, their VM untouched", async () => {
    const vmsBefore = pve.leftovers().vms;
    // nextid answers late; meanwhile another client creates a VM with the id it will answer.
    pve.inject.stallNextResponse("GET", "/cluster/nextid", 1500);
    const ours = createVm(session, request(), () => Promise.reject(new Error("static")));
    await new Promise((r) => setTimeout(r, 300));
    let free = 100;
    while (vmsBefore.includes(free)) free++;
    const foreign = await session.call("create a foreign VM", z.string(), (api) =>
      api.nodes.$(pve.node).qemu.$post({ vmid: free, name: "someone-else", memory: "16" } as never),
    );
    expect(foreign).toMatch(/^UPID:/);
    const vm = await ours;
    expect(vm.vmid).not.toBe(free);
    const creates = pve.requests.filter(
      (q) =>
        q.method === "POST" && q.template === "/nodes/{node}/qemu" && q.params.name === vm.name,
    );
    expect(creates.map((q) => [q.params.vmid, q.status])).toEqual([
      [String(free), 500],
      [String(vm.vmid), 200],
    ]);
    expect(await vmConfig(session, pve.node, free)).toMatchObject({ name: "someone-else" });
    await destroyVm(session, { ...vm, taskTimeoutMs: 60_000 });
    // Ours is gone; theirs is not ours to destroy (destroyVm checks the name).
    expect(
      await destroyVm(session, {
        node: pve.node,
        vmid: free,
        name: vm.name,
        taskTimeoutMs: 60_000,
      }),
    ).toBe("gone");
    expect(pve.leftovers().vms.sort()).toEqual([...vmsBefore, free].sort());
    await pve.pve.tasks.settle();
    await destroyVm(session, {
      node: pve.node,
      vmid: free,
      name: "someone-else",
      taskTimeoutMs: 60_000,
    });
  });

  test("DHCP: the address comes from the guest's `exo: ip` console line, read over termproxy", async () => {
    const vm = await createVm(
      session,
      { ...request(), instance: "pvetest-dhcp", addressing: { mode: "dhcp" } },
      (where, timeoutMs) => learnAddressFromConsole(session, where, timeoutMs),
    );
    try {
      // dnsmasq on the emulator's bridge leases 10.0.2.100–199.
      expect(vm.address).toMatch(/^10\.0\.2\.(1\d\d)$/);
      expect(vm.smbios1).toBe(`serial=${Buffer.from("exo:net=dhcp").toString("base64")},base64=1`);
      expect((await healthOf(vm)).healthy).toBe(true);
    } finally {
      await destroyVm(session, { ...vm, taskTimeoutMs: 60_000 });
    }
    expect(pve.schemaViolations()).toEqual([]);
  });

  test("a console that never shows the line is an error; the Target reads console and state from outputs", async () => {
    // Once the guest answers HTTP it has printed its `exo: ip` line; the console shows output
    // from the moment of attaching only, so attaching now, the line never comes.
    const vm = await createVm(session, request(), () => Promise.reject(new Error("static")));
    try {
      expect((await healthOf(vm)).healthy).toBe(true);
      await expect(learnAddressFromConsole(session, vm, 2000)).rejects.toThrow(
        new RegExp(
          `^VM ${vm.vmid} \\(DHCP\\) did not report its address \\(an "exo: ip" console line\\): nothing matching on the console of VM ${vm.vmid} within 2 s`,
        ),
      );
      // readConsole's way: listen for a while, return what came (here: nothing new).
      expect(await readConsoleFor(session, vm, 500)).not.toMatch(/exo: ip/);

      // The Target's CLI side, from a deployed instance's outputs and the secret in the env.
      const instance = {
        name: "pvetest-0",
        extras: {
          vmid: vm.vmid,
          node: pve.node,
          vmName: vm.name,
          mac: vm.mac,
          endpoint: pve.url,
          tokenId: pve.token.id,
          tls: { fingerprint: pve.cert.fingerprint256 },
        },
      } as unknown as InstanceOutput;
      delete process.env[TOKEN_SECRET_ENV];
      await expect(proxmoxTarget.isRunning!(instance)).resolves.toBeUndefined();
      await expect(proxmoxTarget.readConsole!(instance)).rejects.toThrow(
        /pvetest-0: reading a Proxmox VM needs the API token's secret: set EXOFORM_PROXMOX_TOKEN_SECRET/,
      );
      process.env[TOKEN_SECRET_ENV] = pve.token.secret;
      try {
        await expect(proxmoxTarget.isRunning!(instance)).resolves.toBe(true);
        const log = await proxmoxTarget.readConsole!(instance);
        expect(log.source).toBe(`${pve.url} VM ${vm.vmid} serial0 (termproxy; output from now on)`);
        expect(log.text).toBe("");
        expect(proxmoxTarget.describeInstance!(instance)).toBe(`VM ${vm.vmid} on pve (${pve.url})`);
        await destroyVm(session, { ...vm, taskTimeoutMs: 60_000 });
        await expect(proxmoxTarget.isRunning!(instance)).resolves.toBe(false);
      } finally {
        delete process.env[TOKEN_SECRET_ENV];
      }
    } finally {
      await destroyVm(session, { ...vm, taskTimeoutMs: 60_000 });
    }
    await expect(
      learnAddressFromConsole(session, { node: pve.node, vmid: 999_999 }, 2000),
    ).rejects.toThrow(
      /^open the serial console of VM 999999: POST \/api2\/json\/nodes\/pve\/qemu\/999999\/termproxy answered 500/,
    );
  });
});
