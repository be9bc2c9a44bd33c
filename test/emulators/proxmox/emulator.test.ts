/**
 * The Proxmox VE API emulator, driven as the Proxmox target drives PVE: the real proxmox-api
 * client for JSON calls, Node's fetch + FormData + fs.openAsBlob for the upload.
 *
 * - API only (no root): TLS, token auth, envelope, version, nextid, upload rules and the
 *   checksum verified in the task, create with import-from (qemu-img), synchronous 500s,
 *   Proxmox's error shapes, schema validation, every failure injection.
 * - VMs (root): two VMs booted in parallel on the emulator's bridge, one with a static address
 *   through smbios1, one by DHCP; both answer /health with the image id from inside the
 *   namespace; stop and delete leave no QEMU, tap, disk or VM.
 * Every request the emulator saw validates against PVE's schema, except those sent invalid on
 * purpose.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import proxmoxApi, { Proxmox } from "proxmox-api";
import { WebSocket } from "undici";
import { buildKernel, configBlock, writeDisk } from "../../helpers/kernel-image";
import { describeAsRoot } from "../../helpers/privilege";
import { ProxmoxEmulator } from "./emulator";
import { unknownFormats } from "./schema";

const execFileAsync = promisify(execFile);

jest.setTimeout(180_000);

function client(pve: ProxmoxEmulator, queryTimeout?: number): Proxmox.Api {
  return proxmoxApi({
    host: "127.0.0.1",
    port: pve.port,
    tokenID: pve.token.id,
    tokenSecret: pve.token.secret,
    fetch: pve.trustingFetch() as never,
    ...(queryTimeout && { queryTimeout }),
  });
}

interface UploadFields {
  content?: string;
  checksum?: string;
  algorithm?: string;
}

/** The upload as the target sends it: parts in PVE's order, the file part named `filename`. */
async function upload(
  pve: ProxmoxEmulator,
  storage: string,
  file: string,
  name: string,
  f: UploadFields = {},
): Promise<Response> {
  const form = new FormData();
  form.append("content", f.content ?? "import");
  if (f.checksum) {
    form.append("checksum-algorithm", f.algorithm ?? "sha256");
    form.append("checksum", f.checksum);
  }
  form.append("filename", await fs.openAsBlob(file), name);
  return pve.trustingFetch()(`${pve.url}/api2/json/nodes/${pve.node}/storage/${storage}/upload`, {
    method: "POST",
    headers: { authorization: `PVEAPIToken=${pve.token.id}=${pve.token.secret}` },
    body: form,
  });
}

async function waitTask(api: Proxmox.Api, node: string, upid: string, ms = 60_000) {
  for (const end = Date.now() + ms; Date.now() < end;) {
    const s = await api.nodes.$(node).tasks.$(upid).status.$get();
    if (s.status === "stopped") return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`task ${upid} still running after ${ms} ms`);
}

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

let dir: string;
let disk: string;
let imageId: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-pve-test-"));
  disk = path.join(dir, "disk.raw");
  imageId = writeDisk(disk, await buildKernel(), configBlock("net=dhcp\n\n"));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("Proxmox emulator: the API", () => {
  let pve: ProxmoxEmulator;
  let api: Proxmox.Api;
  /** Requests sent invalid on purpose: left out of the schema assertion. */
  let invalidOnPurpose = 0;

  beforeAll(async () => {
    pve = await ProxmoxEmulator.start({
      network: false,
      authFailureDelayMs: 50,
      storages: {
        local: { type: "dir", content: ["iso", "vztmpl", "import"] },
        "no-import": { type: "dir", content: ["iso", "vztmpl"] },
        "local-lvm": { type: "lvmthin", content: ["images", "rootdir"] },
      },
    });
    api = client(pve);
  });
  afterAll(() => pve?.stop());

  it("speaks HTTPS with a per-run self-signed certificate and PVE's JSON envelope", async () => {
    const res = await pve.trustingFetch()(`${pve.url}/api2/json/version`, {
      headers: { authorization: `PVEAPIToken=${pve.token.id}=${pve.token.secret}` },
    });
    expect(res.headers.get("content-type")).toBe("application/json;charset=UTF-8");
    expect(await res.json()).toEqual({
      data: { version: "8.4.1", release: "8.4", repoid: expect.any(String) },
    });
    expect(pve.cert.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // Without the CA the certificate is refused, as with a real PVE node.
    await expect(fetch(`${pve.url}/api2/json/version`)).rejects.toThrow();
    expect((await api.nodes.$get()).map((n) => n.node)).toEqual(["pve"]);
  });

  it("answers a bad token or none with 401 after the configured delay", async () => {
    const bad = proxmoxApi({
      host: "127.0.0.1",
      port: pve.port,
      tokenID: pve.token.id,
      tokenSecret: "00000000-0000-0000-0000-000000000000",
      fetch: pve.trustingFetch() as never,
    });
    const t0 = Date.now();
    await expect(bad.version.$get()).rejects.toThrow(/return Error 401 Authentication failed!/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    const none = await pve.trustingFetch()(`${pve.url}/api2/json/version`);
    expect([none.status, none.statusText]).toEqual([401, "No ticket"]);
  });

  it("hands out the next free VMID as a JSON string and reserves nothing", async () => {
    const first = await api.cluster.nextid.$get();
    expect(first).toBe("100");
    expect(await api.cluster.nextid.$get()).toBe("100");
  });

  it("refuses chunked bodies with 501 and checks the upload's name, storage and content", async () => {
    const chunked = await pve.trustingFetch()(
      `${pve.url}/api2/json/nodes/pve/storage/local/upload`,
      {
        method: "POST",
        headers: { authorization: `PVEAPIToken=${pve.token.id}=${pve.token.secret}` },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode("x"));
            c.close();
          },
        }),
        duplex: "half",
      } as RequestInit,
    );
    expect([chunked.status, chunked.statusText]).toEqual([
      501,
      "chunked transfer encoding not supported",
    ]);

    const badName = await upload(pve, "local", disk, "disk.img");
    expect(badName.status).toBe(400);
    expect(await badName.json()).toMatchObject({
      data: null,
      errors: { filename: "invalid filename or wrong extension" },
    });
    const noImport = await upload(pve, "no-import", disk, "x.raw");
    expect([noImport.status, noImport.statusText]).toEqual([
      500,
      "storage 'no-import' does not support 'import' content",
    ]);
    const notFileBased = await upload(pve, "local-lvm", disk, "x.raw");
    expect(notFileBased.statusText).toBe("can't upload to storage type 'lvmthin'");
  });

  it("verifies the checksum in the imgcopy task, then lists the volume as import content", async () => {
    const bad = await upload(pve, "local", disk, "bad.raw", { checksum: "0".repeat(64) });
    expect(bad.status).toBe(200);
    const badUpid = ((await bad.json()) as { data: string }).data;
    expect(badUpid).toMatch(
      /^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:imgcopy::exoform@pve!test:$/,
    );
    const failed = await waitTask(api, "pve", badUpid);
    expect(failed.exitstatus).toBe(
      `checksum mismatch: got '${sha256(disk)}' != expect '${"0".repeat(64)}'`,
    );

    // A normalized name: the space becomes "_".
    const ok = await upload(pve, "local", disk, `exo ${imageId}.raw`, { checksum: sha256(disk) });
    const upid = ((await ok.json()) as { data: string }).data;
    const first = await api.nodes.$("pve").tasks.$(upid).status.$get();
    expect(first.status).toBe("running"); // tasks run after the call has answered
    expect((await waitTask(api, "pve", upid)).exitstatus).toBe("OK");
    const volumes = await api.nodes.$("pve").storage.$("local").content.$get({ content: "import" });
    expect(volumes).toEqual([
      expect.objectContaining({
        volid: `local:import/exo_${imageId}.raw`,
        content: "import",
        format: "raw",
        size: fs.statSync(disk).size,
      }),
    ]);
    const log = await api.nodes.$("pve").tasks.$(upid).log.$get();
    expect(log.at(-1)).toEqual({ n: log.length, t: "TASK OK" });
  });

  it("creates a VM with import-from through qemu-img, refuses a taken VMID and deleting a missing VM", async () => {
    const volid = `local:import/exo_${imageId}.raw`;
    const serial = Buffer.from("exo:net=static;ip=10.0.2.50/24;gw=10.0.2.2").toString("base64");
    const upid = await api.nodes.$("pve").qemu.$post({
      vmid: 100,
      name: "exo-0",
      memory: "64",
      bios: "seabios",
      boot: "order=virtio0",
      virtio0: `local-lvm:0,import-from=${volid}`,
      net0: "virtio,bridge=vmbr0",
      serial0: "socket",
      smbios1: `serial=${serial},base64=1`,
    });
    expect(upid).toMatch(/:qmcreate:100:exoform@pve!test:$/);
    // While the create task runs, the VM is locked.
    const early = await api.nodes.$("pve").qemu.$(100).status.start.$post();
    expect((await waitTask(api, "pve", early)).exitstatus).toBe("VM is locked (create)");
    await expect(
      api.nodes.$("pve").qemu.$post({ vmid: 100, virtio0: `local-lvm:0,import-from=${volid}` }),
    ).rejects.toThrow(/500 unable to create VM 100 - VM 100 already exists on node 'pve'/);
    expect((await waitTask(api, "pve", upid)).exitstatus).toBe("OK");

    const config = await api.nodes.$("pve").qemu.$(100).config.$get();
    expect(fs.statSync(disk).size).toBe(2 * 1024 * 1024);
    expect(config.virtio0).toBe("local-lvm:vm-100-disk-0,size=2M");
    expect(config.net0).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$/);
    expect(config.smbios1).toBe(`serial=${serial},base64=1`);
    const lvm = await api.nodes.$("pve").storage.$("local-lvm").content.$get();
    expect(lvm.map((v) => v.volid)).toEqual(["local-lvm:vm-100-disk-0"]);
    expect(await api.cluster.nextid.$get()).toBe("101");

    // No network in this emulator: the start task fails with a clear error.
    const start = await api.nodes.$("pve").qemu.$(100).status.start.$post();
    expect((await waitTask(api, "pve", start)).exitstatus).toMatch(/no bridge network/);
    expect((await api.nodes.$("pve").qemu.$(100).status.current.$get()).status).toBe("stopped");

    const destroy = await api.nodes
      .$("pve")
      .qemu.$(100)
      .$delete({ purge: true, "destroy-unreferenced-disks": true });
    expect((await waitTask(api, "pve", destroy)).exitstatus).toBe("OK");
    expect(await api.nodes.$("pve").storage.$("local-lvm").content.$get()).toEqual([]);
    await expect(api.nodes.$("pve").qemu.$(100).config.$get()).rejects.toThrow(
      /500 Configuration file 'nodes\/pve\/qemu-server\/100.conf' does not exist/,
    );
  });

  it("refuses requests that do not validate against PVE's schema with 400 and errors", async () => {
    const cases: [() => Promise<unknown>, Record<string, string>][] = [
      [
        () => api.nodes.$("pve").qemu.$post({ vmid: 99 }),
        { vmid: "invalid format - value does not look like a valid VM ID" }, // format before minimum
      ],
      [
        () => api.nodes.$("pve").qemu.$post({ vmid: 101, smbios1: "serial=ip=1.2.3.4" } as never),
        {
          smbios1:
            "invalid format - format error\nsmbios1.serial: value does not match the regex pattern",
        },
      ],
      [
        () => api.nodes.$("pve").qemu.$post({ vmid: 101, smbios1: `serial=${"QUFB".repeat(130)}` }),
        { smbios1: "value may only be 512 characters long" },
      ],
      [
        () => api.nodes.$("pve").qemu.$post({ vmid: 101, bios: "uefi" } as never),
        { bios: "value 'uefi' does not have a value in the enumeration 'seabios, ovmf'" },
      ],
      [
        () =>
          api.nodes
            .$("pve")
            .qemu.$(101)
            .status.stop.$post({ bogus: 1 } as never),
        {
          bogus:
            "property is not defined in schema and the schema does not allow additional properties",
        },
      ],
      [
        () =>
          api.nodes
            .$("pve")
            .qemu.$post({ vmid: 101, virtio0: "local-lvm:1,import-from=local:import/x.raw" }),
        {
          virtio0:
            "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>",
        },
      ],
    ];
    for (const [call, errors] of cases) {
      const err = (await call().then(
        () => new Error("accepted"),
        (e: Error) => e,
      )) as Error;
      expect(err.message).toMatch(/return Error 400 Parameter verification failed\./);
      const body = JSON.parse(err.message.slice(err.message.indexOf("{")));
      expect(body.errors).toEqual(errors);
      expect(body.message).toBe("Parameter verification failed.\n");
    }
    invalidOnPurpose += cases.length - 1; // the import-from one passes the schema, fails the handler
    const bad = pve.schemaViolations();
    expect(bad.map((r) => Object.keys(r.schemaErrors!))).toEqual([
      ["vmid"],
      ["smbios1"],
      ["smbios1"],
      ["bios"],
      ["bogus"],
    ]);
    // Named formats the validator accepts without checking (schema.ts NAMED_FORMATS lacks them).
    expect(unknownFormats()).toEqual([]);
  });

  it("injects an HTTP 500, a task failure, slow tasks and an old version", async () => {
    pve.inject.failNextRequest("GET", "/cluster/nextid", "injected: cluster not ready");
    await expect(api.cluster.nextid.$get()).rejects.toThrow(/500 injected: cluster not ready/);
    expect(await api.cluster.nextid.$get()).toBe("100"); // once only

    pve.inject.failNextTask("imgcopy", "import failed: disk full");
    const res = await upload(pve, "local", disk, "again.raw");
    const upid = ((await res.json()) as { data: string }).data;
    expect((await waitTask(api, "pve", upid)).exitstatus).toBe("import failed: disk full");

    pve.inject.slowTasks(700);
    const t0 = Date.now();
    const slow = await upload(pve, "local", disk, "slow.raw");
    const slowUpid = ((await slow.json()) as { data: string }).data;
    expect((await api.nodes.$("pve").tasks.$(slowUpid).status.$get()).status).toBe("running");
    await waitTask(api, "pve", slowUpid);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    pve.inject.slowTasks(0);
    // With `delay` the call waits for the imgdel task: null when it is done in time.
    const deleted = await api.nodes
      .$("pve")
      .storage.$("local")
      .content.$("local:import/slow.raw")
      .$delete({ delay: 5 });
    expect(deleted).toBeNull();
    expect(pve.leftovers().volumes).not.toContain("local:import/slow.raw");

    pve.setVersion("8.3.5");
    expect(await api.version.$get()).toMatchObject({ version: "8.3.5", release: "8.3" });
    // Before 8.4 error bodies carry no `message` (libpve-http-server-perl 5.2.0).
    const err = await api.nodes
      .$("pve")
      .qemu.$(555)
      .config.$get()
      .catch((e: Error) => e.message);
    expect(JSON.parse((err as string).slice((err as string).indexOf("{")))).toEqual({ data: null });
    pve.setVersion("8.4.1");
  });

  /**
   * A create whose first answer the client never gets: proxmox-api repeats the POST, which
   * meets the VM the first one made. Returns both create requests; removes the VM again.
   */
  async function createAnsweredTwice(impatient: Proxmox.Api, vmid: number) {
    await expect(
      impatient.nodes.$("pve").qemu.$post({
        vmid,
        virtio0: `local-lvm:0,import-from=local:import/exo_${imageId}.raw`,
      }),
    ).rejects.toThrow(`500 unable to create VM ${vmid} - VM ${vmid} already exists on node 'pve'`);
    await pve.pve.tasks.settle();
    expect((await api.nodes.$("pve").qemu.$get()).map((v) => v.vmid)).toEqual([vmid]);
    const destroy = await api.nodes.$("pve").qemu.$(vmid).$delete({ purge: true });
    expect((await waitTask(api, "pve", destroy)).exitstatus).toBe("OK");
    return pve.requests.filter(
      (r) => r.method === "POST" && r.path === "/nodes/pve/qemu" && r.params.vmid === String(vmid),
    );
  }

  it("carries out a POST whose answer is held past the client's timeout; the client's retry finds the VM", async () => {
    pve.inject.stallNextResponse("POST", "/nodes/{node}/qemu", 2_000);
    const creates = await createAnsweredTwice(client(pve, 500), 200);
    expect(creates.map((r) => [r.status, r.heldMs])).toEqual([
      [200, 2_000],
      [500, undefined],
    ]);
  });

  it("carries out a POST whose connection is then reset; proxmox-api repeats it at once", async () => {
    pve.inject.dropNextResponse("POST", "/nodes/{node}/qemu");
    // proxmox-api leaves its timeout timer running after a network error: keep it short
    const creates = await createAnsweredTwice(client(pve, 2_000), 201);
    expect(creates.map((r) => [r.status, r.heldMs])).toEqual([
      [200, Infinity],
      [500, undefined],
    ]);
  });

  it("saw only requests that validate against PVE's schema, apart from those sent invalid on purpose", () => {
    expect(pve.schemaViolations()).toHaveLength(invalidOnPurpose);
    expect(pve.requests.length).toBeGreaterThan(40);
  });
});

describeAsRoot("Proxmox emulator: VMs booted in QEMU", () => {
  let pve: ProxmoxEmulator;
  let api: Proxmox.Api;

  beforeAll(async () => {
    pve = await ProxmoxEmulator.start({ authFailureDelayMs: 50 });
    api = client(pve);
  });
  afterAll(() => pve?.stop());

  async function inNetns(argv: string[]): Promise<string> {
    return (
      await execFileAsync("ip", ["netns", "exec", pve.network!.netns, ...argv], { timeout: 10_000 })
    ).stdout;
  }

  /** termproxy + vncwebsocket as the target uses them; collects what the console shows. */
  async function openConsole(vmid: number) {
    const proxy = await api.nodes.$("pve").qemu.$(vmid).termproxy.$post({ serial: "serial0" });
    const query = new URLSearchParams({ port: String(proxy.port), vncticket: proxy.ticket });
    const ws = new WebSocket(
      `wss://127.0.0.1:${pve.port}/api2/json/nodes/pve/qemu/${vmid}/vncwebsocket?${query}`,
      {
        protocols: ["binary"],
        dispatcher: pve.dispatcher,
        headers: { authorization: `PVEAPIToken=${pve.token.id}=${pve.token.secret}` },
      },
    );
    ws.binaryType = "arraybuffer";
    let text = "";
    ws.addEventListener("open", () => ws.send(`${proxy.user}:${proxy.ticket}\n`));
    ws.addEventListener(
      "message",
      (e) => (text += Buffer.from(e.data as ArrayBuffer).toString("latin1")),
    );
    return {
      upid: proxy.upid as string,
      until: async (re: RegExp, ms = 60_000) => {
        for (
          const end = Date.now() + ms;
          Date.now() < end;
          await new Promise((r) => setTimeout(r, 100))
        )
          if (re.test(text)) return text;
        throw new Error(`console of VM ${vmid} never showed ${re}; it showed:\n${text}`);
      },
      close: () => ws.close(),
    };
  }

  async function waitHealthy(vmid: number, address: () => string | undefined): Promise<string> {
    for (const end = Date.now() + 90_000; Date.now() < end;) {
      const ip = address();
      if (ip) {
        try {
          const body = await inNetns(["curl", "-s", "-m", "2", `http://${ip}/health`]);
          if (JSON.parse(body).build === imageId) return ip;
        } catch {
          // not up yet
        }
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`VM ${vmid} never answered /health; serial:\n${pve.serialLog(vmid)}`);
  }

  it("boots imported VMs (static via smbios1, and DHCP) that answer /health; stop and delete leave nothing", async () => {
    const res = await upload(pve, "local", disk, `${imageId}.raw`, { checksum: sha256(disk) });
    const up = ((await res.json()) as { data: string }).data;
    expect((await waitTask(api, "pve", up)).exitstatus).toBe("OK");
    const volid = `local:import/${imageId}.raw`;
    const serial = Buffer.from("exo:net=static;ip=10.0.2.50/24;gw=10.0.2.2").toString("base64");
    const common = {
      memory: "16",
      boot: "order=virtio0",
      virtio0: `local-lvm:0,import-from=${volid}`,
      net0: "virtio,bridge=vmbr0",
      serial0: "socket",
    };
    const creates = await Promise.all([
      api.nodes.$("pve").qemu.$post({ vmid: 100, ...common, smbios1: `serial=${serial},base64=1` }),
      api.nodes.$("pve").qemu.$post({ vmid: 101, ...common, start: true }),
    ]);
    for (const upid of creates) expect((await waitTask(api, "pve", upid)).exitstatus).toBe("OK");
    const start = await api.nodes.$("pve").qemu.$(100).status.start.$post();
    expect((await waitTask(api, "pve", start)).exitstatus).toBe("OK");
    // Right after the start task the console is early enough for the boot log.
    const console100 = await openConsole(100);

    const [staticIp, dhcpIp] = await Promise.all([
      waitHealthy(100, () => "10.0.2.50"),
      waitHealthy(101, () => pve.leasedAddress(101)),
    ]);
    expect(staticIp).toBe("10.0.2.50");
    expect(dhcpIp).toMatch(/^10\.0\.2\.1\d\d$/);
    expect(pve.serialLog(100)).toContain("exo: config smbios");
    const seen = await console100.until(/exo: ip 10\.0\.2\.50\/24 gw 10\.0\.2\.2 via static/);
    expect(seen.startsWith("OK")).toBe(true);
    expect(seen).toContain(`exo: kernel ${imageId}`);
    console100.close();
    expect((await waitTask(api, "pve", console100.upid)).exitstatus).toBe("OK");

    // A ticket is good for its own port only.
    const proxy = await api.nodes.$("pve").qemu.$(101).termproxy.$post({ serial: "serial0" });
    await expect(
      api.nodes
        .$("pve")
        .qemu.$(101)
        .vncwebsocket.$get({ port: proxy.port + 1, vncticket: proxy.ticket }),
    ).rejects.toThrow(/500 permission denied - invalid vnc ticket/);
    const status = await api.nodes.$("pve").qemu.$(100).status.current.$get();
    expect(status).toMatchObject({ status: "running", vmid: 100 });

    await expect(api.nodes.$("pve").qemu.$(100).$delete({ purge: true })).rejects.toThrow(
      /500 VM 100 is running - destroy failed/,
    );
    for (const vmid of [100, 101]) {
      const stop = await api.nodes.$("pve").qemu.$(vmid).status.stop.$post({ timeout: 0 });
      expect((await waitTask(api, "pve", stop)).exitstatus).toBe("OK");
      const del = await api.nodes
        .$("pve")
        .qemu.$(vmid)
        .$delete({ purge: true, "destroy-unreferenced-disks": true });
      expect((await waitTask(api, "pve", del)).exitstatus).toBe("OK");
    }
    const rm = await api.nodes.$("pve").storage.$("local").content.$(volid).$delete();
    expect((await waitTask(api, "pve", rm)).exitstatus).toBe("OK");

    expect(pve.leftovers()).toEqual({ vms: [], volumes: [], runningVms: [] });
    // Only dnsmasq is left in the namespace: no QEMU, and no tap on the bridge.
    const pids = (await execFileAsync("ip", ["netns", "pids", pve.network!.netns])).stdout
      .trim()
      .split(/\s+/);
    expect(pids.map((p) => fs.readFileSync(`/proc/${p}/comm`, "utf8").trim())).toEqual(["dnsmasq"]);
    expect(await inNetns(["ip", "-o", "link", "show"])).not.toMatch(/tap\d+i0/);
    expect(pve.schemaViolations()).toEqual([]);
  });
});
