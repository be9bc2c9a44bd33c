/**
 * The Proxmox target end to end: the built `exoform` CLI drives the real Pulumi CLI (file
 * backend, throwaway project) against the PVE API emulator, which boots the real image in QEMU
 * on its bridge inside a namespace this test makes; the health probes run in that namespace
 * (`exoform:proxmox.probeNetns`).
 *
 *   up (static pool address) → healthy; a second up changes nothing → a new image: the new VM
 *   is healthy before the old one is stopped while a probe loop always finds one answering →
 *   DHCP: the address comes from the console → an injected task failure, an HTTP 500, a lost
 *   create answer and PVE 8.3 → a new VM failing its check is rolled back → `exoform compare`
 *   with a local stack on the same image → destroy leaves no VM, disk, upload or QEMU process.
 *   Every request the emulator saw validates against PVE's API schema.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import {
  createExoformProject,
  ExoformProject,
  jsonResult,
  TEST_PASSPHRASE,
} from "../../cli/exoform-project";
import { ProxmoxEmulator } from "../../emulators/proxmox/emulator";
import { describeAsRoot } from "../../helpers/privilege";

const execFileAsync = promisify(execFile);

jest.setTimeout(600_000);

interface Instance {
  name: string;
  address: string;
  health: { healthy: boolean; http: { status: string; build: string } };
  extras: { vmid: number; node: string };
}

const STACK = "pve-e2e";

describeAsRoot("Proxmox target, end to end against the PVE emulator", () => {
  let pve: ProxmoxEmulator;
  let project: ExoformProject;
  let addressing =
    "mode: static\n      pool: [10.0.2.50/24, 10.0.2.51/24]\n      gateway: 10.0.2.2";
  let body = "first\n";
  /** Extra lines of exoform:health (indented under it). */
  let health = "";
  /** The VM serving now. */
  let current: Instance;

  function stackYaml(): string {
    return `config:
  exoform:target: proxmox
  exoform:image:
    hostname: exoform-pve
    http:
      port: 80
      body: ${JSON.stringify(body)}
  exoform:health:
    deadlineSeconds: 60
    ${health}
  exoform:proxmox:
    endpoint: ${pve.url}
    node: ${pve.node}
    tokenId: ${pve.token.id}
    tls:
      fingerprint: "${pve.cert.fingerprint256}"
    addressing:
      ${addressing}
    taskTimeoutSeconds: 60
    probeNetns: ${pve.network!.netns}
`;
  }

  /** Writes the stack file and sets the token secret in it, encrypted. */
  async function writeStack(): Promise<void> {
    project.writeStack(STACK, stackYaml());
    const set = await project.pulumi([
      ...["config", "set", "--secret", "--path", "exoform:proxmox.tokenSecret"],
      ...[pve.token.secret, "--stack", STACK],
    ]);
    expect(set.stderr).toBe("");
  }

  async function up() {
    const r = await project.exoform(["up", STACK, "--json", "--yes"]);
    return { ...r, result: jsonResult(r) };
  }

  function instancesOf(result: Record<string, unknown>): Instance[] {
    return (result.outputs as { instances: Instance[] }).instances;
  }

  /** VMs and running VMs on the node, and the import volumes. */
  function node() {
    const left = pve.leftovers();
    return {
      vms: left.vms,
      running: left.runningVms,
      imports: left.volumes.filter((v) => v.includes(":import/")),
    };
  }

  /** GET /health inside the namespace: the build it reports, or undefined on any failure. */
  async function probe(address: string): Promise<string | undefined> {
    try {
      const { stdout } = await execFileAsync(
        "ip",
        ["netns", "exec", pve.network!.netns, "curl", "-s", "-m", "1", `http://${address}/health`],
        { timeout: 5000 },
      );
      return JSON.parse(stdout).build;
    } catch {
      return undefined;
    }
  }

  /** An up that must fail: exit code 4, the expected message once, nothing new left running. */
  async function failingUp(expected: RegExp) {
    body = `${body.trim()}+\n`;
    await writeStack();
    const before = node();
    const r = await up();
    expect({ code: r.code, ok: r.result.ok }).toEqual({ code: 4, ok: false });
    expect(String(r.result.error)).toMatch(expected);
    expect(r.stderr.match(new RegExp(expected.source, "g"))).toHaveLength(1);
    // No orphan: the serving VM is the only VM, and it still serves its build.
    await pve.pve.tasks.settle();
    expect(node().vms).toEqual(before.vms);
    expect(node().running).toEqual([current.extras.vmid]);
    expect(await probe(current.address)).toBe(current.health.http.build);
    return r;
  }

  beforeAll(async () => {
    pve = await ProxmoxEmulator.start({ authFailureDelayMs: 50 });
    project = createExoformProject("pve-e2e");
    // A Proxmox stack holds a token: it refuses the built-in local passphrase.
    project.env.PULUMI_CONFIG_PASSPHRASE = TEST_PASSPHRASE;
    project.writeStack(STACK, stackYaml());
    const init = await project.pulumi(["stack", "init", STACK]);
    expect(init.code).toBe(0);
    await writeStack();
  });

  afterAll(async () => {
    if (project) {
      await project.exoform(["down", STACK, "--yes"]);
      project.cleanup();
    }
    await pve?.stop();
  });

  test("up with a static pool address is healthy; a second up changes nothing", async () => {
    const r = await up();
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const [vm] = instancesOf(r.result);
    expect(vm.address).toBe("10.0.2.50");
    expect(vm.health.healthy).toBe(true);
    expect(vm.health.http.build).toBe((r.result.outputs as { imageId: string }).imageId);
    expect(await probe("10.0.2.50")).toBe(vm.health.http.build);
    expect(node()).toEqual({
      vms: [vm.extras.vmid],
      running: [vm.extras.vmid],
      imports: [expect.stringMatching(/^local:import\/.*\.raw$/)],
    });
    current = vm;

    const again = await up();
    expect(again.code).toBe(0);
    expect(again.result.changes).toEqual({});
    expect(instancesOf(again.result)[0].extras.vmid).toBe(vm.extras.vmid);
  });

  test("a new image: the new VM is healthy before the old one stops; some VM always answers", async () => {
    const old = current;
    body = "second\n";
    await writeStack();
    const probes: { at: number; old?: string; next?: string }[] = [];
    let probing = true;
    const loop = (async () => {
      while (probing) {
        const at = Date.now();
        const [o, n] = await Promise.all([probe("10.0.2.50"), probe("10.0.2.51")]);
        probes.push({ at, old: o, next: n });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const r = await up().finally(() => (probing = false));
    await loop;
    expect(r.code).toBe(0);
    const [vm] = instancesOf(r.result);
    expect(vm.address).toBe("10.0.2.51");
    expect(vm.health.healthy).toBe(true);
    expect(vm.extras.vmid).not.toBe(old.extras.vmid);

    const stopOld = pve.requests.find(
      (q) => q.method === "POST" && q.path === `/nodes/pve/qemu/${old.extras.vmid}/status/stop`,
    );
    expect(stopOld).toBeDefined();
    const newBuild = vm.health.http.build;
    const firstNewOk = probes.find((p) => p.next === newBuild);
    expect(firstNewOk!.at).toBeLessThan(stopOld!.at);
    // Every probe round found the old build on the old VM or the new build on the new one.
    const unanswered = probes.filter((p) => p.old !== old.health.http.build && p.next !== newBuild);
    expect(unanswered).toEqual([]);
    expect(probes.length).toBeGreaterThan(5);
    expect(node().vms).toEqual([vm.extras.vmid]);
    expect(node().imports).toHaveLength(1);
    current = vm;
  });

  test("DHCP: the new VM's address comes from its console, and it is healthy", async () => {
    addressing = "mode: dhcp";
    await writeStack();
    const r = await up();
    expect({ code: r.code, error: r.result.error }).toEqual({ code: 0, error: undefined });
    const [vm] = instancesOf(r.result);
    expect(vm.address).toBe(pve.leasedAddress(vm.extras.vmid));
    expect(vm.address).toMatch(/^10\.0\.2\.1\d\d$/);
    expect(vm.health.healthy).toBe(true);
    expect(node().vms).toEqual([vm.extras.vmid]);
    current = vm;
  });

  test("a failing create task gives one clear error and leaves no orphan", async () => {
    pve.inject.failNextTask("qmcreate", "emulator: injected: unable to allocate the disk");
    await failingUp(/emulator: injected: unable to allocate the disk/);
  });

  test("an HTTP 500 on the start gives one clear error and leaves no orphan", async () => {
    pve.inject.failNextRequest(
      "POST",
      "/nodes/{node}/qemu/{vmid}/status/start",
      "emulator: injected: start refused",
    );
    await failingUp(/emulator: injected: start refused/);
  });

  test("a create whose answer is lost (the client repeats the POST) makes exactly one VM", async () => {
    pve.inject.dropNextResponse("POST", "/nodes/{node}/qemu");
    body = "after a lost answer\n";
    await writeStack();
    const t0 = Date.now();
    const r = await up();
    expect({ code: r.code, error: r.result.error }).toEqual({ code: 0, error: undefined });
    const [vm] = instancesOf(r.result);
    // VMIDs are reused (nextid hands out the lowest free one): only this up's requests count.
    const creates = pve.requests.filter(
      (q) =>
        q.at >= t0 &&
        q.method === "POST" &&
        q.path === "/nodes/pve/qemu" &&
        q.params.vmid === String(vm.extras.vmid),
    );
    expect(creates.map((q) => q.status)).toEqual([200, 500]);
    await pve.pve.tasks.settle();
    expect(node().vms).toEqual([vm.extras.vmid]);
    current = vm;
  });

  test("a new VM that never passes its health check is removed; the old one keeps serving", async () => {
    // The new image boots and serves, but no answer can meet a 0.001 ms latency limit.
    health = "maxHttpLatencyMs: 0.001";
    try {
      await failingUp(/latency [\d.]+ ms above the limit of 0\.001 ms/);
    } finally {
      health = "";
    }
    // The next good up replaces the old VM without a gap (the blue/green test's path).
    body = "after a failed generation\n";
    await writeStack();
    const r = await up();
    expect({ code: r.code, error: r.result.error }).toEqual({ code: 0, error: undefined });
    const [vm] = instancesOf(r.result);
    expect(vm.health.healthy).toBe(true);
    await pve.pve.tasks.settle();
    expect(node().vms).toEqual([vm.extras.vmid]);
    current = vm;
  });

  test("a failed removal of the old generation keeps the new, healthy VM serving; the next up finishes", async () => {
    const old = current;
    body = "removal fails once\n";
    await writeStack();
    // The old VM goes first (it depends on the old image), then the old image's delete fails.
    pve.inject.failNextRequest(
      "DELETE",
      "/nodes/{node}/storage/{storage}/content/{volume}",
      "emulator: injected: storage busy",
    );
    const r = await up();
    expect(r.code).toBe(4);
    expect(String(r.result.error)).toMatch(/emulator: injected: storage busy/);
    expect(String(r.result.error)).toMatch(/the new deployment is healthy and serving/);
    await pve.pve.tasks.settle();
    // Not rolled back: the new VM runs and serves the new build; the old one is gone.
    const running = node().running;
    expect(running).toHaveLength(1);
    expect(running[0]).not.toBe(old.extras.vmid);
    // Addressed by DHCP since the DHCP test (static: the pool's other address).
    const other =
      pve.leasedAddress(running[0]) ?? (old.address === "10.0.2.50" ? "10.0.2.51" : "10.0.2.50");
    expect(await probe(other)).toMatch(/^[0-9a-f]{64}$/);
    expect(await probe(other)).not.toBe(old.health.http.build);
    expect(node().imports).toHaveLength(2);
    const again = await up();
    expect({ code: again.code, error: again.result.error }).toEqual({ code: 0, error: undefined });
    expect(node().imports).toHaveLength(1);
    current = instancesOf(again.result)[0];
    expect(current.extras.vmid).toBe(running[0]);
  });

  test("PVE 8.3 is refused with one clear error before anything is uploaded", async () => {
    pve.setVersion("8.3.5");
    const uploadsBefore = pve.requests.filter((q) => q.path.endsWith("/upload")).length;
    try {
      await failingUp(/8\.4/);
    } finally {
      pve.setVersion("8.4.1");
    }
    expect(pve.requests.filter((q) => q.path.endsWith("/upload")).length).toBe(uploadsBefore);
  });

  test("compare with a local stack on the same image: three report forms with the outputs' numbers", async () => {
    // A local stack (QEMU here) built from the same image configuration: the same image id.
    const image = stackYaml()
      .split("  exoform:health:")[0]
      .replace("target: proxmox", "target: local");
    project.writeStack("cmp-local", image);
    const out = path.join(project.dir, "report");
    const r = await project.exoform([
      "compare",
      STACK,
      "cmp-local",
      "--deploy",
      "--out",
      out,
      "--json",
    ]);
    expect({ code: r.code, error: jsonResult(r).error }).toEqual({ code: 0, error: undefined });
    try {
      const report = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8"));
      expect(report.sameImage).toBe(true);
      expect(report.stacks.map((s: { target: string }) => s.target)).toEqual(["proxmox", "local"]);
      // The numbers are the stacks' outputs, as `pulumi stack output` shows them.
      for (const stack of [STACK, "cmp-local"]) {
        const outputs = JSON.parse(
          (await project.pulumi(["stack", "output", "--json", "--stack", stack])).stdout,
        );
        const [i] = report.instances.filter((x: { stack: string }) => x.stack === stack);
        expect(i.phases).toEqual(outputs.instances[0].phases);
        expect(i.http.latency).toEqual(outputs.instances[0].health.http.latency);
      }
      const pveRow = report.instances.find((x: { stack: string }) => x.stack === STACK);
      expect(pveRow.phases).toMatchObject({
        upload: expect.any(Number),
        import: expect.any(Number),
      });
      const md = fs.readFileSync(path.join(out, "report.md"), "utf8");
      expect(md).toContain(`| ${STACK}/${pveRow.name} |`);
      expect(fs.readFileSync(path.join(out, "report.html"), "utf8").match(/<svg /g)).toHaveLength(
        4,
      );
    } finally {
      expect((await project.exoform(["down", "cmp-local", "--yes"])).code).toBe(0);
    }
  });

  test("destroy leaves no VM, disk, upload or QEMU process; every request validated", async () => {
    const down = await project.exoform(["down", STACK, "--yes"]);
    expect(down.code).toBe(0);
    await pve.pve.tasks.settle();
    expect(pve.leftovers()).toEqual({ vms: [], volumes: [], runningVms: [] });
    const { stdout } = await execFileAsync("ip", ["netns", "pids", pve.network!.netns]);
    const comms = await Promise.all(
      stdout
        .trim()
        .split(/\s+/)
        .map(async (p) => (await execFileAsync("cat", [`/proc/${p}/comm`])).stdout.trim()),
    );
    expect(comms).toEqual(["dnsmasq"]);
    expect(pve.schemaViolations()).toEqual([]);
  });
});
