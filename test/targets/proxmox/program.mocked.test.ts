/**
 * The Pulumi program on a Proxmox stack, mocked (setMocks: no engine, no API, no probes; the
 * mocked HealthCheck answers with a canned healthy report): which resources it declares, what
 * they get (pool shares, import-from source, the token as a secret), the outputs contract, and
 * the errors of bad settings. The image is really built (fast and deterministic). Also: the
 * providers serialize into location-free stubs, and their diffs replace exactly on what
 * `import-from`/`smbios1` fix at create.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { cannedReport, valueOf } from "../../helpers/pulumi-mocks";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { pveImageProvider, pveVmProvider } from "../../../infra/targets/proxmox/resources";
import {
  diffInputs,
  IMAGE_REPLACING_INPUTS,
  VM_REPLACING_INPUTS,
} from "../../../infra/targets/proxmox/provider-impl";
import { repoRoot } from "../../helpers/pulumi";
import { exoformConfigFromPulumi, parseStackConfig } from "../../../infra/config";
import {
  ProxmoxSettings,
  ProxmoxSettingsSchema,
  settingsProblemsFor,
} from "../../../infra/targets/proxmox/settings";

jest.setTimeout(60_000);

const SECRET = "0123abcd-4567-89ef-0123-456789abcdef";
const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-pve-program-"));
fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), "name: exoform\n");

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
let registered: Registered[] = [];
let nextVmid = 100;

beforeAll(async () => {
  jest.spyOn(console, "log").mockImplementation(() => undefined);
  process.env.EXOFORM_PROJECT_DIR = projectDir;
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type.endsWith(":PveImage"))
          Object.assign(state, {
            volid: `${args.inputs.storage}:import/${args.inputs.filename}`,
            uploaded: true,
            uploadMs: 30,
            importMs: 40,
          });
        if (args.type.endsWith(":PveVm")) {
          const vmid = nextVmid++;
          const addressing = args.inputs.addressing as { pool?: string[]; slot?: number };
          Object.assign(state, {
            vmid,
            name: `exo-${args.inputs.instance}-0000000${vmid % 10}`,
            mac: "02:00:00:00:00:01",
            address: addressing.pool![addressing.slot!].split("/")[0],
            startedAtEpochMs: 1,
            createMs: 5,
            startMs: 6,
            running: true,
          });
        }
        if (args.type.endsWith(":HealthCheck"))
          state.report = cannedReport(args.inputs.spec, {
            status: "passed",
            address: "x",
            firstReplyMs: 700,
          });
        return { id: `${args.name}-id`, state };
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

async function runProgram(config: Record<string, unknown>): Promise<Record<string, unknown>> {
  registered = [];
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries(config).map(([k, v]) => [
        `exoform:${k}`,
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    ),
    ["exoform:proxmox"],
  );
  const program = require("../../../infra/index") as () => Promise<Record<string, unknown>>;
  return program();
}

const settings = {
  endpoint: "https://pve1.example.net:8006",
  node: "pve1",
  tokenId: "exoform@pve!deploy",
  tokenSecret: SECRET,
  addressing: {
    mode: "static",
    pool: ["10.20.0.50/24", "10.20.0.51/24", "10.20.0.52/24", "10.20.0.53/24"],
    gateway: "10.20.0.1",
  },
  tls: { fingerprint: "AB".repeat(32) },
  monthlyCostUsdPerVm: 1.5,
};

test("mocked: one PveImage, and per instance a component with a PveVm and its HealthCheck", async () => {
  const outputs = await runProgram({ target: "proxmox", instances: 2, proxmox: settings });
  await new Promise((r) => setTimeout(r, 200));
  const names = (t: string) => registered.filter((r) => r.type === t).map((r) => r.name);
  const imageId = await valueOf<string>(outputs.imageId);
  // One generation per image: every name carries the image id's first 12 hex digits, so a new
  // image creates a new generation (and a failed one can be rolled back) instead of replacing.
  const gen = imageId.slice(0, 12);
  expect(names("pulumi-nodejs:dynamic/proxmox:PveImage")).toEqual([`image-${gen}`]);
  expect(names("exoform:proxmox:Instance")).toEqual([`vm-0-${gen}`, `vm-1-${gen}`]);
  expect(names("pulumi-nodejs:dynamic/proxmox:PveVm")).toEqual([
    `vm-0-${gen}-vm`,
    `vm-1-${gen}-vm`,
  ]);
  expect(names("pulumi-nodejs:dynamic/health:HealthCheck")).toEqual([
    `vm-0-${gen}-health`,
    `vm-1-${gen}-health`,
  ]);
  const image = registered.find((r) => r.name === `image-${gen}`)!.inputs;
  expect(image).toMatchObject({
    node: "pve1",
    storage: "local",
    filename: `exoform-${imageId}.raw`,
    imageId,
    taskTimeoutMs: 600_000,
  });
  // Project-relative, so a moved project can still read it.
  expect(path.isAbsolute(image.file as string)).toBe(false);
  expect(fs.existsSync(path.join(projectDir, image.file as string))).toBe(true);

  const vm1 = registered.find((r) => r.name === `vm-1-${gen}-vm`)!.inputs;
  expect(vm1).toMatchObject({
    node: "pve1",
    instance: "t-1",
    imageId,
    volid: `local:import/exoform-${imageId}.raw`,
    diskStorage: "local-lvm",
    bridge: "vmbr0",
    memoryMb: 16,
    addressing: {
      mode: "static",
      pool: settings.addressing.pool,
      gateway: "10.20.0.1",
      slot: 1,
      slots: 2,
    },
  });
  // The connection reaches the engine as a secret (the token inside it).
  expect(vm1.connection).toEqual({
    [rpc.specialSigKey]: rpc.specialSecretSig,
    value: {
      endpoint: settings.endpoint,
      tokenId: settings.tokenId,
      tokenSecret: SECRET,
      tls: { mode: "fingerprint", sha256: "AB".repeat(32) },
    },
  });

  expect(await valueOf(outputs.target)).toBe("proxmox");
  expect(await valueOf(outputs.monthlyCostUsd)).toBe(3);
  const instances = await valueOf<
    {
      name: string;
      address: string;
      url: string;
      phases: object;
      extras: object;
      monthlyCostUsd: number;
    }[]
  >(outputs.instances);
  expect(instances.map((i) => [i.name, i.address, i.url])).toEqual([
    ["t-0", "10.20.0.50", "http://10.20.0.50/"],
    ["t-1", "10.20.0.51", "http://10.20.0.51/"],
  ]);
  expect(instances[0].phases).toEqual({
    build: expect.any(Number),
    upload: 30,
    import: 40,
    create: 11,
    firstPing: 700,
    firstHttp200: 900,
  });
  expect(instances[0].monthlyCostUsd).toBe(1.5);
  expect(instances[0].extras).toMatchObject({
    node: "pve1",
    tokenId: settings.tokenId,
    vmName: expect.stringMatching(/^exo-t-0-/),
  });
  // The secret is in no output; the health spec probes the pool address.
  expect(JSON.stringify(await valueOf(pulumi.all(outputs)))).not.toContain(SECRET);
  const spec = registered.find((r) => r.name === `vm-0-${gen}-health`)!.inputs.spec as {
    httpUrl: string;
    icmp: object;
  };
  expect(spec).toMatchObject({
    httpUrl: "http://10.20.0.50/health",
    icmp: { address: "10.20.0.50" },
  });
});

test("mocked: a pool too small for blue/green, and a missing secret, fail naming the fields", async () => {
  await expect(
    runProgram({
      target: "proxmox",
      instances: 2,
      proxmox: {
        ...settings,
        addressing: { mode: "static", pool: ["10.20.0.50/24", "10.20.0.51/24"] },
      },
    }),
  ).rejects.toThrow(
    /exoform:proxmox\.addressing\.pool: has 2 address\(es\); 2 instance\(s\) need 4/,
  );
  const noSecret: Record<string, unknown> = { ...settings };
  delete noSecret.tokenSecret;
  await expect(runProgram({ target: "proxmox", proxmox: noSecret })).rejects.toThrow(
    /exoform:proxmox\.tokenSecret: required setting is missing/,
  );
});

test("mocked: a CA file (relative to the project) is read into the connection", async () => {
  fs.writeFileSync(path.join(projectDir, "pve-root-ca.pem"), "-----BEGIN CERTIFICATE-----\nx\n");
  await runProgram({
    target: "proxmox",
    proxmox: { ...settings, tls: { caFile: "pve-root-ca.pem" } },
  });
  await new Promise((r) => setTimeout(r, 200));
  const vm = registered.find((r) => /^vm-0-[0-9a-f]{12}-vm$/.test(r.name))!.inputs;
  expect((vm.connection as { value: { tls: object } }).value.tls).toEqual({
    mode: "ca",
    caPem: "-----BEGIN CERTIFICATE-----\nx\n",
  });
});

test("mocked: a CA file that cannot be read is named", async () => {
  await expect(
    runProgram({
      target: "proxmox",
      proxmox: { ...settings, tls: { caFile: "nowhere/pve-root-ca.pem" } },
    }),
  ).rejects.toThrow(/exoform:proxmox\.tls\.caFile: cannot read .*nowhere\/pve-root-ca\.pem/);
});

describe("providers", () => {
  test.each([
    ["PveImage", () => pveImageProvider],
    ["PveVm", () => pveVmProvider],
  ])("%s serializes into a small, location-free stub", async (_name, provider) => {
    const text = (await pulumi.runtime.serializeFunction(provider)).text;
    expect(text).toContain('"infra/targets/proxmox/provider-impl.js"');
    expect(text).toContain("requireProjectModule");
    expect(text).not.toContain(repoRoot);
    expect(text).not.toMatch(/zod|ZodObject|proxmox-api|undici|PveSession/);
    expect(text.length).toBeLessThan(8000);
  });

  const vmInputs = {
    connection: {
      endpoint: "https://a:8006",
      tokenId: "a@pve!b",
      tokenSecret: SECRET,
      tls: { mode: "system" },
    },
    node: "pve1",
    instance: "t-0",
    imageId: "a".repeat(64),
    volid: "local:import/x.raw",
    diskStorage: "local-lvm",
    bridge: "vmbr0",
    memoryMb: 16,
    addressing: { mode: "dhcp" },
    taskTimeoutMs: 1000,
  };
  const vmState = { ...vmInputs, vmid: 100, name: "exo-t-0-00000000", running: true };

  test("a new image id replaces the VM; a rotated token or timeout only updates", () => {
    expect(
      diffInputs(vmState, { ...vmInputs, imageId: "b".repeat(64) }, VM_REPLACING_INPUTS),
    ).toEqual({
      changed: ["imageId"],
      replaces: ["imageId"],
    });
    expect(
      diffInputs(
        vmState,
        { ...vmInputs, connection: { ...vmInputs.connection, tokenSecret: "x" }, taskTimeoutMs: 5 },
        VM_REPLACING_INPUTS,
      ),
    ).toEqual({ changed: ["connection", "taskTimeoutMs"], replaces: [] });
    expect(diffInputs(vmState, vmInputs, VM_REPLACING_INPUTS)).toEqual({
      changed: [],
      replaces: [],
    });
  });

  test("a VM a refresh found stopped or gone is replaced", () => {
    expect(
      diffInputs({ ...vmState, running: false }, vmInputs, VM_REPLACING_INPUTS).replaces,
    ).toEqual(["running"]);
  });

  test("an image is re-imported only for another file, storage or node", () => {
    const img = {
      node: "n",
      storage: "local",
      filename: "f.raw",
      sha256: "s",
      file: "a/f.raw",
      taskTimeoutMs: 1,
    };
    expect(diffInputs(img, { ...img, file: "b/f.raw" }, IMAGE_REPLACING_INPUTS)).toEqual({
      changed: ["file"],
      replaces: [],
    });
    expect(
      diffInputs(img, { ...img, filename: "g.raw", sha256: "t" }, IMAGE_REPLACING_INPUTS).replaces,
    ).toEqual(["filename", "sha256"]);
  });
});

test("mocked: the example stack validates as committed once its token secret is set, and holds no secret", () => {
  const yaml = require("js-yaml") as { load(text: string): unknown };
  const file = path.join(repoRoot, "stacks", "Pulumi.pve-example.yaml");
  const text = fs.readFileSync(file, "utf8");
  expect(text).not.toMatch(/^\s*(secure|encryptionsalt):/m);
  const { config } = yaml.load(text) as { config: Record<string, Record<string, unknown>> };
  expect(config["exoform:proxmox"]).not.toHaveProperty("tokenSecret");
  // As committed, the one missing setting is the secret.
  expect(() => ProxmoxSettingsSchema.parse(config["exoform:proxmox"])).toThrow(/tokenSecret/);
  const withSecret = {
    ...config,
    "exoform:proxmox": { ...config["exoform:proxmox"], tokenSecret: SECRET },
  };
  const flat = Object.fromEntries(
    Object.entries(withSecret).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  const parsed = parseStackConfig(exoformConfigFromPulumi(flat), "stacks/Pulumi.pve-example.yaml");
  expect(parsed.target).toBe("proxmox");
  expect(settingsProblemsFor(parsed.settings as ProxmoxSettings, parsed.instances)).toEqual([]);
});
