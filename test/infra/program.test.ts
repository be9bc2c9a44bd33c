/**
 * The Pulumi program under mocks (no engine, no QEMU): which resources a stack configuration
 * makes, and how it refuses bad configuration and targets that are not implemented yet. The
 * image is really built (fast and deterministic), into a throwaway project directory.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

jest.setTimeout(60_000);

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-program-"));
fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), "name: exoform\n");
let registered: Registered[] = [];

beforeAll(() => {
  jest.spyOn(console, "log").mockImplementation(() => undefined); // the program's engine logs
  process.env.EXOFORM_PROJECT_DIR = projectDir;
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "exoform",
    "t",
    false,
  );
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

test("the local target: one QemuVm and one HealthCheck per instance, under a component", async () => {
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
  const imageId = outputs.imageId as string;
  expect(imageId).toMatch(/^[0-9a-f]{64}$/);
  expect(vm).toMatchObject({
    instance: "t-1",
    stateDir: path.join(projectDir, ".exoform", "stacks", "t"),
    imageId,
    accel: "tcg",
    network: "user",
    guestNetwork: { mode: "dhcp" },
    httpPort: 8080,
  });
  expect(fs.existsSync(vm.imagePath as string)).toBe(true);
  expect(path.basename(vm.imagePath as string)).toBe(`exoform-${imageId.slice(0, 12)}.raw`);
});

test("targets that are not implemented yet fail with a clear message", async () => {
  await expect(runProgram({ target: "digitalocean" })).rejects.toThrow(
    'stacks/Pulumi.t.yaml: exoform:target: the digitalocean target is not implemented yet (only "local" is)',
  );
});

test("invalid configuration fails naming the stack file and field", async () => {
  await expect(runProgram({ target: "local", local: { accel: "hvf" } })).rejects.toThrow(
    /stacks\/Pulumi\.t\.yaml: invalid stack configuration:\n {2}exoform:local\.accel: Invalid option/,
  );
});
