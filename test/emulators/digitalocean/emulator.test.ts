/**
 * The emulated DigitalOcean provider under the real Pulumi engine, with a small program of its
 * own (not exoform's target): an SSH key, a custom image imported by URL from a file server in the
 * test's namespace, a droplet booting it in QEMU, a firewall, a reserved IP and its assignment.
 *
 *   up → the droplet answers /health with the image id on its public IPv4, ping works, the
 *   reserved IP forwards to it, outputs look like DO's → a second up and a refresh change nothing
 *   → a new image URL replaces image, droplet and assignment (create before delete) and the
 *   reserved IP follows → a new size resizes the droplet in place (same id and address, QEMU
 *   restarted with the new memory, new price) → an image behind 403 fails the update like DO,
 *   leaving the running one
 *   → destroy leaves no droplet, QEMU, dnsmasq, bridge, NAT table, address or stored image.
 *
 * Everything (pulumi, the plugin, QEMU, dnsmasq, the file server) runs inside one network
 * namespace this test makes; afterAll removes it, which kills whatever a failure left behind.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { buildKernel, configBlock, writeDisk } from "../../helpers/kernel-image";
import { createPulumiProject, PulumiProject, RunResult } from "../../helpers/pulumi";
import {
  commandOf,
  describePrivileged,
  eventually,
  health,
  startFileServer,
  TestNamespace,
} from "./harness";
import { installDoEmulatorPlugin } from "./install";

jest.setTimeout(300_000);

const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const digitalocean = require("@pulumi/digitalocean");
const cfg = new pulumi.Config();
const key = new digitalocean.SshKey("key", { publicKey: cfg.require("publicKey") });
const image = new digitalocean.CustomImage("image", {
  url: cfg.require("imageUrl"),
  regions: ["nyc3"],
  distribution: "Unknown",
});
const droplet = new digitalocean.Droplet("vm", {
  image: image.id,
  size: cfg.get("size") ?? "s-1vcpu-512mb-10gb",
  region: "nyc3",
  sshKeys: [key.fingerprint],
});
const dropletId = droplet.id.apply(Number);
new digitalocean.Firewall("fw", {
  dropletIds: [dropletId],
  inboundRules: [
    { protocol: "tcp", portRange: "80", sourceAddresses: ["0.0.0.0/0"] },
    { protocol: "icmp", sourceAddresses: ["0.0.0.0/0"] },
  ],
  outboundRules: [{ protocol: "udp", portRange: "67", destinationAddresses: ["0.0.0.0/0"] }],
});
const rip = new digitalocean.ReservedIp("rip", { region: "nyc3" });
new digitalocean.ReservedIpAssignment("assign", { ipAddress: rip.ipAddress, dropletId });
exports.imageId = image.imageId;
exports.imageStatus = image.status;
exports.dropletId = droplet.id;
exports.name = droplet.name;
exports.status = droplet.status;
exports.ipv4 = droplet.ipv4Address;
exports.ipv4Private = droplet.ipv4AddressPrivate;
exports.priceMonthly = droplet.priceMonthly;
exports.reservedIp = rip.ipAddress;
exports.fingerprint = key.fingerprint;
`;

interface Outputs {
  imageId: number;
  imageStatus: string;
  dropletId: string;
  name: string;
  status: string;
  ipv4: string;
  ipv4Private: string;
  priceMonthly: number;
  reservedIp: string;
  fingerprint: string;
}

/** An ed25519 public key line (random key material; only its form matters here). */
function publicKey(): string {
  const type = Buffer.from("ssh-ed25519");
  const len = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const blob = Buffer.concat([len(type.length), type, len(32), randomBytes(32)]);
  return `ssh-ed25519 ${blob.toString("base64")} exoform-test`;
}

describePrivileged("DigitalOcean emulator under the Pulumi engine", () => {
  let ns: TestNamespace;
  let project: PulumiProject;
  let served: string;
  let stateDir: string;
  const images: { id: string; file: string }[] = [];

  const pulumi = (args: string[]): Promise<RunResult> =>
    ns.exec(["pulumi", ...args, "--non-interactive"], { cwd: project.dir, env: project.env });
  const pulumiOk = async (args: string[]): Promise<RunResult> => {
    const r = await pulumi(args);
    if (r.code !== 0)
      throw new Error(`pulumi ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const outputs = async (): Promise<Outputs> =>
    JSON.parse((await pulumiOk(["stack", "output", "--json"])).stdout) as Outputs;

  beforeAll(async () => {
    ns = TestNamespace.create();
    served = path.join(ns.dir, "www");
    fs.mkdirSync(path.join(served, "private"), { recursive: true });
    const boot = await buildKernel();
    for (const body of ["first build\n", "second build\n"]) {
      const raw = path.join(ns.dir, "disk.raw");
      const id = writeDisk(raw, boot, configBlock(`net=dhcp\nhostname=do-emu\n\n${body}`));
      const file = `exoform-${id.slice(0, 12)}.img.gz`;
      fs.writeFileSync(path.join(served, file), zlib.gzipSync(fs.readFileSync(raw)));
      fs.copyFileSync(path.join(served, file), path.join(served, "private", file));
      images.push({ id, file });
    }
    await startFileServer(ns, served, 8080);
    project = await createPulumiProject({ name: "do-emulator", programJs: PROGRAM });
    ns.removeOnAbort(project.dir);
    stateDir = path.join(project.dir, "do-emulator");
    project.env.EXOFORM_DO_EMULATOR_DIR = stateDir;
    project.env.EXOFORM_DO_EMULATOR_TOKEN = "emulator-token";
    installDoEmulatorPlugin(project.env.PULUMI_HOME!);
    await pulumiOk(["config", "set", "--secret", "digitalocean:token", "emulator-token"]);
    await pulumiOk(["config", "set", "publicKey", publicKey()]);
  });

  afterAll(async () => {
    if (project) await pulumi(["destroy", "--yes", "--skip-preview"]).catch(() => undefined);
    if (ns) await ns.remove();
    project?.cleanup();
  });

  let first: Outputs;

  test("up: the droplet boots the imported image and serves it on its public and reserved IPs", async () => {
    await pulumiOk(["config", "set", "imageUrl", `http://127.0.0.1:8080/${images[0].file}`]);
    await pulumiOk(["up", "--yes", "--skip-preview"]);
    first = await outputs();
    expect(first).toMatchObject({
      imageStatus: "available",
      status: "active",
      priceMonthly: 4,
      dropletId: expect.stringMatching(/^\d+$/),
      name: expect.stringMatching(/^vm-[0-9a-f]{7}$/),
      ipv4: expect.stringMatching(/^203\.0\.113\.\d+$/),
      ipv4Private: expect.stringMatching(/^10\.110\.\d+\.\d+$/),
      reservedIp: expect.stringMatching(/^198\.51\.100\.\d+$/),
    });
    expect(typeof first.imageId).toBe("number");
    // DO's fingerprint is OpenSSH's MD5 one.
    const keyFile = path.join(ns.dir, "key.pub");
    fs.writeFileSync(
      keyFile,
      JSON.parse((await pulumiOk(["config", "get", "publicKey", "--json"])).stdout).value,
    );
    const md5 = execFileSync("ssh-keygen", ["-l", "-E", "md5", "-f", keyFile], {
      encoding: "utf8",
    });
    expect(md5).toContain(`MD5:${first.fingerprint}`);

    const h = await eventually("droplet /health", () => health(ns, first.ipv4), 90_000);
    expect(h.build).toBe(images[0].id);
    expect((await ns.exec(["ping", "-c", "1", "-W", "2", first.ipv4])).code).toBe(0);
    expect((await health(ns, first.reservedIp))?.build).toBe(images[0].id);
    // Two legacy virtio-net NICs, public first: the kernel drives the first one it finds, and
    // that is the public MAC. The VPC bridge's own dnsmasq holds the private address's lease.
    const record = JSON.parse(fs.readFileSync(path.join(stateDir, "account.json"), "utf8"))
      .droplets[first.dropletId];
    const serial = fs.readFileSync(path.join(record.dir, "serial.log"), "latin1");
    expect(serial).toMatch(new RegExp(`virtio-net legacy mac ${record.publicMac}`));
    const vpcHosts = fs.readFileSync(
      path.join(stateDir, "net", "do-vpc", "hosts", first.dropletId),
      "utf8",
    );
    expect(vpcHosts).toBe(`${record.privateMac},${first.ipv4Private}\n`);
    const dnsmasqs = ns
      .pids()
      .map(commandOf)
      .filter((c) => c.startsWith("dnsmasq"));
    expect(dnsmasqs.map((c) => /--interface=(\S+)/.exec(c)?.[1]).sort()).toEqual([
      "do-public",
      "do-vpc",
    ]);
    // A firewall guards the droplet: only TCP 80 and ICMP get in.
    expect(
      (await ns.exec(["curl", "-s", "--max-time", "2", `http://${first.ipv4}:8081/`])).code,
    ).toBe(28);
  });

  test("a second up and a refresh change nothing", async () => {
    await pulumiOk(["up", "--yes", "--expect-no-changes"]);
    await pulumiOk(["refresh", "--yes", "--expect-no-changes"]);
  });

  test("a new image URL replaces image, droplet and assignment, create before delete", async () => {
    const oldQemu = ns.pids().filter((p) => commandOf(p).includes(`droplets/${first.dropletId}/`));
    expect(oldQemu).toHaveLength(1);
    await pulumiOk(["config", "set", "imageUrl", `http://127.0.0.1:8080/${images[1].file}`]);
    const preview = JSON.parse((await pulumiOk(["preview", "--json"])).stdout) as {
      steps: { op: string; urn: string }[];
    };
    const replaced = preview.steps
      .filter((s) => s.op === "replace" || s.op === "create-replacement")
      .map((s) => s.urn.split("::").pop());
    expect(new Set(replaced)).toEqual(new Set(["image", "vm", "assign"]));
    await pulumiOk(["up", "--yes", "--skip-preview"]);
    const second = await outputs();
    expect(second.dropletId).not.toBe(first.dropletId);
    expect(second.reservedIp).toBe(first.reservedIp);
    const h = await eventually(
      "new droplet behind the reserved IP",
      async () => {
        const r = await health(ns, second.reservedIp);
        return r?.build === images[1].id ? r : undefined;
      },
      90_000,
    );
    expect(h.build).toBe(images[1].id);
    expect(oldQemu.map(commandOf)).toEqual([""]);
  });

  test("a new size resizes the droplet in place: powered off, restarted with the new memory", async () => {
    const before = await outputs();
    const qemu = () =>
      ns.pids().filter((p) => commandOf(p).includes(`droplets/${before.dropletId}/`));
    const [oldPid] = qemu();
    await pulumiOk(["config", "set", "size", "s-1vcpu-1gb"]);
    const preview = JSON.parse((await pulumiOk(["preview", "--json"])).stdout) as {
      steps: { op: string; urn: string }[];
    };
    const vm = preview.steps.find((s) => s.urn.endsWith("::vm"));
    expect(vm?.op).toBe("update");
    await pulumiOk(["up", "--yes", "--skip-preview"]);
    const after = await outputs();
    expect(after).toMatchObject({
      dropletId: before.dropletId,
      priceMonthly: 6,
      ipv4: before.ipv4,
    });
    const [newPid] = qemu();
    expect(newPid).not.toBe(oldPid);
    expect(commandOf(newPid)).toContain("-m 1024M");
    const h = await eventually(
      "resized droplet /health",
      () => health(ns, after.reservedIp),
      90_000,
    );
    expect(h.build).toBe(images[1].id);
  });

  test("an image DO could not read (private object) fails the update like DO and keeps what runs", async () => {
    const before = await outputs();
    await pulumiOk([
      "config",
      "set",
      "imageUrl",
      `http://127.0.0.1:8080/private/${images[0].file}`,
    ]);
    const r = await pulumi(["up", "--yes", "--skip-preview"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Error waiting for image \(\d+\) to become ready: .*403/);
    expect((await health(ns, before.reservedIp))?.build).toBe(images[1].id);
    await pulumiOk(["config", "set", "imageUrl", `http://127.0.0.1:8080/${images[1].file}`]);
    await pulumiOk(["up", "--yes", "--expect-no-changes"]);
  });

  test("destroy leaves nothing behind", async () => {
    await pulumiOk(["destroy", "--yes", "--skip-preview"]);
    const account = JSON.parse(fs.readFileSync(path.join(stateDir, "account.json"), "utf8"));
    for (const kind of ["images", "droplets", "firewalls", "reservedIps", "sshKeys"])
      expect({ kind, left: account[kind] }).toEqual({ kind, left: {} });
    expect(fs.readdirSync(path.join(stateDir, "images"))).toEqual([]);
    expect(ns.links()).toEqual([]);
    const left = ns
      .pids()
      .map(commandOf)
      .filter((c) => /qemu-system|dnsmasq/.test(c));
    expect(left).toEqual([]);
    const nft = await ns.exec(["nft", "list", "tables"]);
    expect(nft.stdout).not.toContain("exoform_do");
    const addrs = await ns.exec(["ip", "-o", "addr", "show", "dev", "lo"]);
    expect(addrs.stdout).not.toContain("198.51.100.");
  });
});
