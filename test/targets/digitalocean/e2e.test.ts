/**
 * The DigitalOcean target end to end on the emulated DigitalOcean: the built `exoform` CLI drives
 * the real Pulumi CLI and exoform's program, which uploads the image to a real S3 server
 * (SeaweedFS, test/helpers/s3-server.ts), imports it as a Custom Image and boots Droplets that
 * are QEMU VMs (test/emulators/digitalocean), health-checks them and moves the reserved IP.
 * Everything runs inside one network namespace this test makes, so the probes reach the
 * droplets' addresses directly:
 *
 *   up, 2 droplets → healthy; the reserved IP answers /health with the image id
 *   → a second up and a refresh change nothing
 *   → a new HTTP body: while a probe loop hits the reserved IP every 50 ms, the cutover
 *     completes with zero failed probes and the build switches exactly once
 *   → a broken new image (static address from another network: its health check cannot pass) fails
 *     the deployment; the reserved IP keeps serving the old build; the failed droplets are gone
 *   → a good up succeeds without a gap
 *   → down: no droplet, image, key, firewall, reserved IP, Spaces object, QEMU, dnsmasq, bridge
 *     or namespace left.
 *
 * afterAll tears everything down also after a failure (exoform down, then the namespace, which
 * kills whatever still runs in it). Under CI=true missing root or tools is a failure.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
  createExoformProject,
  ExoformProject,
  jsonResult,
  TEST_PASSPHRASE,
} from "../../cli/exoform-project";
import { RunResult } from "../../helpers/pulumi";
import { startS3Server, S3TestServer } from "../../helpers/s3-server";
import {
  buildSequence,
  commandOf,
  describePrivileged,
  health,
  ProbeLoop,
  relayIntoNamespace,
  TestNamespace,
} from "../../emulators/digitalocean/harness";
import { installDoEmulatorPlugin } from "../../emulators/digitalocean/install";

jest.setTimeout(420_000);

const STACK = "do-e2e";
const BUCKET = "exoform-e2e";
const TOKEN = "do-e2e-token";

interface Instance {
  name: string;
  address: string;
  health: { healthy: boolean; http: { status: string; build: string } };
  extras: { dropletId: number; reservedIp?: string };
}
interface Result {
  ok: boolean;
  changes?: Record<string, number>;
  outputs: {
    imageId: string;
    instances: Instance[];
    extras: { reservedIps: Record<string, string> };
  };
}

/**
 * The stack file. `broken` makes an image that cannot pass its health check on DigitalOcean: a
 * static address from another network instead of DHCP, so nothing answers on the droplet's
 * public IPv4 (custom images get their address by DHCP: cloud-facts.md §2).
 */
function stackYaml(body: string, s3Endpoint: string, o: { broken?: boolean } = {}): string {
  const network = o.broken ? "mode: static\n      address: 192.0.2.50/24" : "mode: dhcp";
  return `config:
  exoform:target: digitalocean
  exoform:instances: 2
  exoform:image:
    hostname: exoform-do-e2e
    network:
      ${network}
    http:
      port: 80
      body: ${JSON.stringify(body)}
  exoform:health:
    deadlineSeconds: ${o.broken ? 15 : 120}
  exoform:digitalocean:
    regions: [nyc3]
    spaces:
      bucket: ${BUCKET}
      endpoint: ${s3Endpoint}
      forcePathStyle: true
`;
}

describePrivileged("DigitalOcean target, end to end on the emulator", () => {
  let ns: TestNamespace;
  let s3: S3TestServer;
  let closeRelay: (() => void) | undefined;
  let project: ExoformProject;
  let stateDir: string;
  let loop: ProbeLoop | undefined;

  const exoform = (args: string[]): Promise<RunResult> =>
    ns.exec([path.join(__dirname, "..", "..", "..", "bin", "exoform"), ...args], {
      cwd: project.dir,
      env: project.env,
    });
  const up = async (): Promise<{ run: RunResult; result: Result }> => {
    const run = await exoform(["up", STACK, "--json", "--yes"]);
    return { run, result: jsonResult(run) as unknown as Result };
  };
  const account = () => JSON.parse(fs.readFileSync(path.join(stateDir, "account.json"), "utf8"));
  const reservedIpOf = (r: Result) => r.outputs.extras.reservedIps.nyc3;
  const failure = (r: RunResult) =>
    `exit ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`;

  beforeAll(async () => {
    ns = TestNamespace.create();
    s3 = await startS3Server();
    await s3.createBucket(BUCKET);
    closeRelay = await relayIntoNamespace(ns, Number(new URL(s3.endpoint).port));
    project = createExoformProject("do-e2e");
    ns.removeOnAbort(project.dir);
    stateDir = path.join(project.dir, ".do-emulator");
    Object.assign(project.env, {
      // A DigitalOcean stack refuses the built-in local passphrase.
      PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
      EXOFORM_DO_EMULATOR_DIR: stateDir,
      EXOFORM_DO_EMULATOR_TOKEN: TOKEN,
      DIGITALOCEAN_TOKEN: TOKEN,
      SPACES_ACCESS_KEY_ID: s3.accessKeyId,
      SPACES_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    installDoEmulatorPlugin(project.env.PULUMI_HOME!);
  });

  afterAll(async () => {
    if (loop) await loop.stop();
    if (project && ns) await exoform(["down", STACK, "--yes"]).catch(() => undefined);
    const name = ns?.name;
    if (ns) await ns.remove();
    if (name)
      expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(name);
    closeRelay?.();
    if (s3) await s3.stop();
    project?.cleanup();
  });

  let first: Result;

  test("up: two droplets healthy, the reserved IP serves the image id", async () => {
    project.writeStack(STACK, stackYaml("first body\n", s3.endpoint));
    const { run, result } = await up();
    expect({ code: run.code, why: run.code ? failure(run) : "" }).toEqual({ code: 0, why: "" });
    first = result;
    const { instances, imageId } = first.outputs;
    expect(instances).toHaveLength(2);
    for (const i of instances) {
      expect(i.health.healthy).toBe(true);
      expect(i.health.http.build).toBe(imageId);
      expect((await health(ns, i.address))?.build).toBe(imageId);
    }
    expect((await health(ns, reservedIpOf(first)))?.build).toBe(imageId);
    expect(Object.keys(account().droplets)).toHaveLength(2);
  });

  test("a second up and a refresh change nothing", async () => {
    const { run, result } = await up();
    expect(run.code).toBe(0);
    expect(result.changes).toEqual({});
    const refresh = await ns.exec(
      ["pulumi", "refresh", "--yes", "--expect-no-changes", "--stack", STACK, "--non-interactive"],
      { cwd: project.dir, env: project.env },
    );
    expect({ code: refresh.code, why: refresh.code ? failure(refresh) : "" }).toEqual({
      code: 0,
      why: "",
    });
  });

  test("a new body: the reserved IP switches to the new build once, with no failed probe", async () => {
    loop = await ProbeLoop.start(ns, `http://${reservedIpOf(first)}/health`);
    project.writeStack(STACK, stackYaml("second body\n", s3.endpoint));
    const { run, result } = await up();
    await new Promise((r) => setTimeout(r, 500));
    const probes = await loop.stop();
    loop = undefined;
    expect({ code: run.code, why: run.code ? failure(run) : "" }).toEqual({ code: 0, why: "" });
    const second = result.outputs;
    expect(second.imageId).not.toBe(first.outputs.imageId);
    expect(probes.length).toBeGreaterThan(20);
    expect(probes.filter((p) => !p.ok)).toEqual([]);
    expect(buildSequence(probes)).toEqual([first.outputs.imageId, second.imageId]);
    expect(reservedIpOf(result)).toBe(reservedIpOf(first));
    // The old droplets are gone, with their QEMUs.
    const ids = Object.keys(account().droplets).sort();
    expect(ids).toEqual(second.instances.map((i) => String(i.extras.dropletId)).sort());
    for (const i of first.outputs.instances)
      expect(
        ns.pids().filter((p) => commandOf(p).includes(`droplets/${i.extras.dropletId}/`)),
      ).toEqual([]);
    first = result;
  });

  let good: Result["outputs"];
  let broken: RunResult;

  test("a broken new image fails the deployment; the reserved IP keeps serving the old build", async () => {
    good = first.outputs;
    loop = await ProbeLoop.start(ns, `http://${reservedIpOf(first)}/health`);
    project.writeStack(STACK, stackYaml("third body\n", s3.endpoint, { broken: true }));
    broken = await exoform(["up", STACK, "--json", "--yes"]);
    expect(broken.code).not.toBe(0);
    expect(jsonResult(broken).ok).toBe(false);
    expect(broken.stdout + broken.stderr).toMatch(/health/i);
    expect((await health(ns, reservedIpOf(first)))?.build).toBe(good.imageId);
  });

  test("the failed droplets are gone", () => {
    const droplets = Object.keys(account().droplets).sort();
    expect(droplets).toEqual(good.instances.map((i) => String(i.extras.dropletId)).sort());
  });

  test("then a good up succeeds, and the reserved IP never had a gap", async () => {
    project.writeStack(STACK, stackYaml("third body\n", s3.endpoint));
    const { run, result } = await up();
    await new Promise((r) => setTimeout(r, 500));
    const probes = await loop!.stop();
    loop = undefined;
    expect({ code: run.code, why: run.code ? failure(run) : "" }).toEqual({ code: 0, why: "" });
    expect(probes.length).toBeGreaterThan(20);
    expect(probes.filter((p) => !p.ok)).toEqual([]);
    expect(buildSequence(probes)).toEqual([good.imageId, result.outputs.imageId]);
    expect((await health(ns, reservedIpOf(result)))?.build).toBe(result.outputs.imageId);
    const ids = Object.keys(account().droplets).sort();
    expect(ids).toEqual(result.outputs.instances.map((i) => String(i.extras.dropletId)).sort());
  });

  test("down leaves nothing behind", async () => {
    const down = await exoform(["down", STACK, "--yes"]);
    expect({ code: down.code, why: down.code ? failure(down) : "" }).toEqual({ code: 0, why: "" });
    const a = account();
    for (const kind of ["images", "droplets", "firewalls", "reservedIps", "sshKeys"])
      expect({ kind, left: a[kind] }).toEqual({ kind, left: {} });
    expect(fs.readdirSync(path.join(stateDir, "images"))).toEqual([]);
    expect(ns.links()).toEqual([]);
    expect(
      ns
        .pids()
        .map(commandOf)
        .filter((c) => /qemu-system|dnsmasq/.test(c)),
    ).toEqual([]);
    expect((await ns.exec(["nft", "list", "tables"])).stdout).not.toContain("exoform_do");
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const objects = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    client.destroy();
    expect(objects.Contents ?? []).toEqual([]);
  });
});
