/**
 * The Pulumi program, mocked (setMocks: no engine, no QEMU, no probes; the mocked HealthCheck
 * answers with a canned healthy report): which resources a stack configuration makes, that the
 * outputs follow the contract, that a preview leaves no image files, and how it refuses bad
 * configuration and targets that are not implemented yet. The image is really built (fast and
 * deterministic), into a throwaway project directory.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { cannedReport, valueOf } from "../helpers/pulumi-mocks";

jest.setTimeout(60_000);

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-program-"));
fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), "name: exoform\n");
let registered: Registered[] = [];

/** Mocks: resources echo their inputs; QemuVm gets an address, HealthCheck its canned report. */
async function mock(preview: boolean) {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type.endsWith(":QemuVm")) {
          Object.assign(state, {
            httpUrl: "http://127.0.0.1:8080",
            icmpSkipReason: "mocked",
            pid: 1,
            startedAtEpochMs: 0,
            createMs: 5,
            serialLog: "s.log",
            pidFile: "q.pid",
          });
        }
        if (args.type.endsWith(":HealthCheck")) state.report = cannedReport(args.inputs.spec);
        return { id: `${args.name}-id`, state };
      },
      call: () => ({}),
    },
    "exoform",
    "t",
    preview,
  );
}

beforeAll(async () => {
  jest.spyOn(console, "log").mockImplementation(() => undefined); // the program's engine logs
  process.env.EXOFORM_PROJECT_DIR = projectDir;
  await mock(false);
});
afterAll(() => {
  delete process.env.EXOFORM_PROJECT_DIR;
  fs.rmSync(projectDir, { recursive: true, force: true });
});

/** Runs the program with these `exoform:*` settings (objects as Pulumi passes them: JSON). */
async function runProgram(config: Record<string, unknown>): Promise<Record<string, unknown>> {
  registered = [];
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries(config).map(([k, v]) => [
        `exoform:${k}`,
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    ),
  );
  const program = require("../../infra/index") as () => Promise<Record<string, unknown>>;
  return program();
}

test("mocked: the local target: one QemuVm and one HealthCheck per instance, under a component", async () => {
  const outputs = await runProgram({
    target: "local",
    instances: 2,
    image: { http: { port: 8080, body: "hi\n" } },
    local: { network: "user" },
  });
  await new Promise((r) => setTimeout(r, 100)); // let the registrations settle
  const byType = (t: string) => registered.filter((r) => r.type === t).map((r) => r.name);
  expect(byType("exoform:local:Instance")).toEqual(["vm-0", "vm-1"]);
  expect(byType("pulumi-nodejs:dynamic/local:QemuVm")).toEqual(["vm-0-qemu", "vm-1-qemu"]);
  expect(byType("pulumi-nodejs:dynamic/health:HealthCheck")).toEqual([
    "vm-0-health",
    "vm-1-health",
  ]);

  const vm = registered.find((r) => r.name === "vm-1-qemu")!.inputs;
  const imageId = await valueOf<string>(outputs.imageId);
  expect(imageId).toMatch(/^[0-9a-f]{64}$/);
  // Paths relative to the project: the state stays valid when the project moves.
  expect(vm).toMatchObject({
    instance: "t-1",
    stateDir: path.join(".exoform", "stacks", "t"),
    imageId,
    accel: "tcg",
    network: "user",
    guestNetwork: { mode: "dhcp" },
    httpPort: 8080,
  });
  expect(path.isAbsolute(vm.imagePath as string)).toBe(false);
  expect(fs.existsSync(path.join(projectDir, vm.imagePath as string))).toBe(true);
  expect(path.basename(vm.imagePath as string)).toBe(`exoform-${imageId.slice(0, 12)}.raw`);

  // The outputs contract: target, image, instances with health and phase timings.
  expect(await valueOf(outputs.target)).toBe("local");
  const instances = await valueOf<
    { name: string; phases: Record<string, number>; extras: object }[]
  >(outputs.instances);
  expect(instances.map((i) => i.name)).toEqual(["t-0", "t-1"]);
  expect(instances[0].phases).toEqual({ build: expect.any(Number), create: 5, firstHttp200: 900 });
  expect(instances[0].extras).toEqual({
    network: "user",
    pid: 1,
    pidFile: "q.pid",
    serialLog: "s.log",
  });
});

test("mocked: a preview builds the image to learn its id but leaves no image files", async () => {
  await mock(true);
  try {
    const imagesDir = path.join(projectDir, ".exoform", "stacks", "t", "images");
    fs.rmSync(imagesDir, { recursive: true, force: true });
    await runProgram({ target: "local", image: { http: { body: "preview only\n" } } });
    await new Promise((r) => setTimeout(r, 100));
    const vm = registered.find((r) => r.name === "vm-0-qemu")!.inputs;
    expect(path.basename(vm.imagePath as string)).toMatch(/^exoform-[0-9a-f]{12}\.raw$/);
    expect(fs.existsSync(imagesDir) ? fs.readdirSync(imagesDir) : []).toEqual([]);
  } finally {
    await mock(false);
  }
});

test("mocked: a target that does not exist fails with a clear message", async () => {
  await expect(runProgram({ target: "vmware" })).rejects.toThrow(
    /stacks\/Pulumi\.t\.yaml: invalid stack configuration:\n {2}exoform:target: "vmware" is not a target \(targets: local, digitalocean, proxmox\)/,
  );
});

test("mocked: invalid configuration fails naming the stack file and field", async () => {
  await expect(runProgram({ target: "local", local: { accel: "hvf" } })).rejects.toThrow(
    /stacks\/Pulumi\.t\.yaml: invalid stack configuration:\n {2}exoform:local\.accel: Invalid option/,
  );
});
