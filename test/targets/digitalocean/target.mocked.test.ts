/**
 * The DigitalOcean target's resource graph under Pulumi mocks (no engine, no provider, no
 * network): what is registered with which inputs, options and dependencies, and what the stack
 * exports. Mocks never run Diff or the engine's replacement order; the blue/green order is the
 * end-to-end test's (test/targets/digitalocean/e2e*.test.ts, emulated DigitalOcean).
 */
import * as pulumi from "@pulumi/pulumi";
import type { BuildResult } from "../../../image-builder";
import { ImageConfigSchema } from "../../../image-builder";
import { HealthThresholdsSchema } from "../../../infra/health/thresholds";
import { StackOutputsSchema } from "../../../infra/outputs";
import type { DeployContext } from "../../../infra/targets/target";
import type { DigitalOceanSettings } from "../../../infra/targets/digitalocean/settings";
import { DigitalOceanSettingsSchema } from "../../../infra/targets/digitalocean/settings";
import { imageObjectKey, imageObjectUrl } from "../../../infra/targets/digitalocean/spaces";
import { dropletGeneration } from "../../../infra/targets/digitalocean/plan";
import { generateSshPublicKey } from "../../../infra/targets/digitalocean/provider-impl";

const IMAGE_ID = "ab".repeat(32);
const ACCESS_ID = "DO00MOCKEDACCESSKEY";
const SECRET_KEY = "mocked-spaces-secret-key-0123456789";
const TOKEN = "dop_v1_mocked_token_0123456789";
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A registration as the monitor saw it. */
interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  dependencies: string[];
  replaceOnChanges: string[];
  deleteBeforeReplace: boolean;
  urn: string;
}

let registered: Registered[] = [];
/** A health check that does not finish before `until` resolves (a Droplet still booting). */
let heldCheck: { instance: string; until: Promise<void> } | undefined;
let dropletCounter = 0;

function isSecret(v: unknown): boolean {
  return (v as Record<string, unknown> | undefined)?.[SECRET_SIG_KEY] === SECRET_SIG;
}
function unwrap<T>(v: unknown): T {
  return (isSecret(v) ? (v as { value: unknown }).value : v) as T;
}

const mocks: pulumi.runtime.Mocks = {
  call: () => ({}),
  async newResource(args) {
    const inputs = args.inputs as Record<string, unknown>;
    switch (args.type) {
      case "pulumi-nodejs:dynamic/digitalocean:SpacesImageUpload": {
        // The provider's own key and URL functions, applied to the registered inputs.
        const plain = { ...inputs, credentials: unwrap(inputs.credentials) } as Parameters<
          typeof imageObjectKey
        >[0] & { forcePathStyle: boolean; signingRegion: string };
        const key = imageObjectKey(plain);
        return {
          id: key,
          state: {
            ...inputs,
            key,
            url: imageObjectUrl(plain, key),
            bytesSent: 1234,
            reused: false,
            uploadMs: 1500,
            uploadedAtEpochMs: 1_000_000,
          },
        };
      }
      case "digitalocean:index/customImage:CustomImage":
        return {
          id: "170000001",
          state: { ...inputs, imageId: 170000001, status: "available", sizeGigabytes: 0.5 },
        };
      case "pulumi-nodejs:dynamic/digitalocean:SpacesImportWindow":
        return {
          id: "w",
          state: { ...inputs, action: "deleted", closedAtEpochMs: 1_000_000 + 90_000 },
        };
      case "pulumi-nodejs:dynamic/digitalocean:SshPublicKey":
        return {
          id: "k",
          state: { ...inputs, publicKey: generateSshPublicKey(String(inputs.comment)) },
        };
      case "digitalocean:index/sshKey:SshKey":
        return {
          id: "41",
          state: { ...inputs, name: `${args.name}-1a2b3c4`, fingerprint: "aa:bb" },
        };
      case "digitalocean:index/droplet:Droplet": {
        const n = ++dropletCounter;
        return {
          id: String(500000000 + n),
          state: {
            ...inputs,
            name: `${args.name}-${n}f3e2d1`,
            ipv4Address: `203.0.113.${n}`,
            priceMonthly: 4,
            priceHourly: 0.00595,
            status: "active",
            createdAt: "2026-11-29T09:00:00Z",
          },
        };
      }
      case "pulumi-nodejs:dynamic/digitalocean:Timestamp":
        return { id: "t", state: { ...inputs, epochMs: Date.parse("2026-11-29T09:00:40Z") } };
      case "pulumi-nodejs:dynamic/health:HealthCheck": {
        const spec = inputs.spec as { instance: string; expectedBuild: string; httpUrl: string };
        if (heldCheck?.instance === spec.instance) await heldCheck.until;
        return {
          id: spec.instance,
          state: {
            spec,
            report: {
              healthy: true,
              instance: spec.instance,
              expectedBuild: spec.expectedBuild,
              icmp: { status: "passed", address: "203.0.113.1", firstReplyMs: 41_000 },
              http: { status: "passed", url: spec.httpUrl, firstOkMs: 42_000, build: IMAGE_ID },
              failures: [],
              checkedAt: "2026-11-29T09:01:00Z",
            },
          },
        };
      }
      case "digitalocean:index/reservedIp:ReservedIp":
        return {
          id: `198.51.100.${registered.length}`,
          state: { ...inputs, ipAddress: `198.51.100.${registered.length}` },
        };
      default:
        return { id: args.custom ? `${args.name}-id` : undefined, state: inputs };
    }
  },
};

/** Mocks, plus a record of every registration with its dependencies and options. */
async function setUpMocks(stack: string) {
  registered = [];
  dropletCounter = 0;
  await pulumi.runtime.setMocks(mocks, "exoform", stack, false);
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: (err: unknown, res: RegisterResponse) => void): void;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    original(req, (err, res) => {
      if (!err)
        registered.push({
          type: req.getType(),
          name: req.getName(),
          inputs: req.getObject().toJavaScript(),
          dependencies: req.getDependenciesList(),
          replaceOnChanges: req.getReplaceonchangesList(),
          deleteBeforeReplace: req.getDeletebeforereplace(),
          urn: res.getUrn(),
        });
      cb(err, res);
    });
}
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getObject(): { toJavaScript(): Record<string, unknown> };
  getDependenciesList(): string[];
  getReplaceonchangesList(): string[];
  getDeletebeforereplace(): boolean;
}
interface RegisterResponse {
  getUrn(): string;
}

function setCredentials(config: Record<string, string>) {
  pulumi.runtime.setAllConfig(config, Object.keys(config));
}
const ALL_CREDENTIALS = {
  "digitalocean:token": TOKEN,
  "digitalocean:spacesAccessId": ACCESS_ID,
  "digitalocean:spacesSecretKey": SECRET_KEY,
};

function context(
  stack: string,
  settings: Partial<DigitalOceanSettings> = {},
): DeployContext<DigitalOceanSettings> {
  const gz = {
    path: `/tmp/exoform-${IMAGE_ID.slice(0, 12)}.img.gz`,
    sha256: "cd".repeat(32),
    bytes: 65536,
  };
  return {
    stack,
    projectDir: "/nonexistent/project",
    stateDir: `/nonexistent/project/.exoform/stacks/${stack}`,
    config: {
      image: ImageConfigSchema.parse({ http: { port: 8080 } }),
      instances: 2,
      health: HealthThresholdsSchema.parse({}),
    },
    settings: DigitalOceanSettingsSchema.parse({
      regions: ["nyc3", "ams3"],
      spaces: { bucket: "exoform-images" },
      tags: ["team-a"],
      ...settings,
    }),
    image: { imageId: IMAGE_ID, gz } as unknown as BuildResult,
    dryRun: false,
    emit: () => undefined,
  };
}

/** Resolves every Output inside a value (arrays and plain objects); rejects when one fails. */
function resolved(value: unknown): Promise<unknown> {
  // Output's own promise (an SDK internal, also what the SDK's mocks examples use): unlike
  // apply, it rejects when a resource behind the value failed.
  return (pulumi.output(value) as unknown as { promise(): Promise<unknown> }).promise();
}

async function deploy(ctx: DeployContext<DigitalOceanSettings>) {
  const { digitalOceanTarget } = await import("../../../infra/targets/digitalocean");
  return digitalOceanTarget.deploy(ctx);
}

const byType = (type: string) => registered.filter((r) => r.type.endsWith(type));

describe("DigitalOcean target, mocked: the healthy deployment", () => {
  let outputs: unknown;

  beforeAll(async () => {
    await setUpMocks("mocked");
    setCredentials(ALL_CREDENTIALS);
    outputs = await resolved(await deploy(context("mocked")));
  });

  test("the outputs match the shared contract, with phases, costs and DO details", () => {
    const parsed = StackOutputsSchema.parse(outputs);
    expect(parsed.target).toBe("digitalocean");
    expect(parsed.imageId).toBe(IMAGE_ID);
    expect(parsed.instances.map((i) => i.name)).toEqual([
      "mocked-nyc3-0",
      "mocked-nyc3-1",
      "mocked-ams3-0",
      "mocked-ams3-1",
    ]);
    const first = parsed.instances[0];
    expect(first.address).toBe("203.0.113.1");
    expect(first.url).toBe("http://203.0.113.1:8080/");
    expect(first.healthSpec.httpUrl).toBe("http://203.0.113.1:8080/health");
    expect(first.healthSpec.icmp).toEqual({ address: "203.0.113.1" });
    expect(first.healthSpec.startedAtEpochMs).toBe(Date.parse("2026-11-29T09:00:00Z"));
    expect(first.phases).toEqual({
      upload: 1500,
      import: 90_000,
      create: 40_000,
      firstPing: 41_000,
      firstHttp200: 42_000,
    });
    expect(first.monthlyCostUsd).toBe(4);
    expect(first.extras).toMatchObject({
      dropletId: 500000001,
      region: "nyc3",
      size: "s-1vcpu-512mb-10gb",
    });
    expect(first.extras.reservedIp).toMatch(/^198\.51\.100\.\d+$/);
    expect(parsed.instances[1].extras.reservedIp).toBeUndefined();
    // 4 Droplets × $4 + 0.5 GB × $0.06.
    expect(parsed.monthlyCostUsd).toBe(16.03);
    expect(parsed.extras).toMatchObject({
      doImageId: "170000001",
      imageSizeGigabytes: 0.5,
      imageStorageUsdPerMonth: 0.03,
      spacesBucket: "exoform-images",
      spacesEndpoint: "https://nyc3.digitaloceanspaces.com",
    });
    expect(Object.keys(parsed.extras.reservedIps as object).sort()).toEqual(["ams3", "nyc3"]);
  });

  test("the Custom Image is imported from a URL ending in <image id>-<token>.img.gz, no query", () => {
    const [image] = byType(":CustomImage");
    const url = String(image.inputs.url);
    expect(url).toMatch(
      new RegExp(
        `^https://exoform-images\\.nyc3\\.digitaloceanspaces\\.com/exoform/mocked/${IMAGE_ID}-[0-9a-f]{32}\\.img\\.gz$`,
      ),
    );
    expect(url).not.toContain("?");
    expect(image.inputs).toMatchObject({
      distribution: "Unknown",
      regions: ["ams3", "nyc3"],
      name: `exoform-${IMAGE_ID.slice(0, 12)}`,
    });
    expect(image.inputs.tags).toEqual(
      expect.arrayContaining([
        "exoform",
        "exoform-stack:mocked",
        `exoform-image:${IMAGE_ID}`,
        "team-a",
      ]),
    );
  });

  test("the import window closes only after the Custom Image exists", () => {
    const [image] = byType(":CustomImage");
    const [window] = byType(":SpacesImportWindow");
    expect(window.dependencies).toContain(image.urn);
    expect(window.inputs).toMatchObject({ keep: false, customImageId: "170000001" });
  });

  test("each Droplet has its own firewall: ICMP and TCP 8080 in, DHCP (UDP 67-68) out", () => {
    const droplets = byType(":Droplet");
    const firewalls = byType(":Firewall");
    expect(firewalls).toHaveLength(droplets.length);
    const anywhere = ["0.0.0.0/0", "::/0"];
    for (const firewall of firewalls) {
      expect(firewall.inputs.inboundRules).toEqual([
        { protocol: "icmp", sourceAddresses: anywhere },
        { protocol: "tcp", portRange: "8080", sourceAddresses: anywhere },
      ]);
      expect(firewall.inputs.outboundRules).toEqual([
        { protocol: "udp", portRange: "67-68", destinationAddresses: anywhere },
      ]);
      expect(firewall.replaceOnChanges).toEqual(["dropletIds"]);
    }
    expect(firewalls.map((f) => f.inputs.dropletIds)).toEqual(
      [500000001, 500000002, 500000003, 500000004].map((id) => [id]),
    );
  });

  test("Droplets: auto-named (no name collisions on replacement), nothing forces delete-before-replace", () => {
    const droplets = byType(":Droplet");
    expect(droplets).toHaveLength(4);
    for (const d of droplets) {
      expect(d.inputs.name).toBeUndefined();
      expect(d.deleteBeforeReplace).toBe(false);
      expect(d.inputs).toMatchObject({
        image: "170000001",
        size: "s-1vcpu-512mb-10gb",
        ipv6: false,
      });
      expect(d.inputs.sshKeys).toEqual(["aa:bb"]);
      expect(d.inputs.tags).toEqual(expect.arrayContaining([`exoform-image:${IMAGE_ID}`]));
    }
    expect(registered.every((r) => !r.deleteBeforeReplace)).toBe(true);
  });

  test("generations: the image's resources carry the image id, the Droplets' the image id and size, stack-wide ones neither", () => {
    const image = IMAGE_ID.slice(0, 12);
    const droplets = dropletGeneration(IMAGE_ID, "s-1vcpu-512mb-10gb");
    const perImage = [":SpacesImageUpload", ":CustomImage", ":SpacesImportWindow"].flatMap(byType);
    expect(perImage).toHaveLength(3);
    for (const r of perImage) expect(r.name).toContain(image);
    const perDroplet = [":Droplet", ":Firewall", ":Timestamp", ":HealthCheck"].flatMap(byType);
    expect(perDroplet).toHaveLength(4 * 4);
    for (const r of perDroplet) expect(r.name).toContain(droplets);
    expect(byType(":Droplet").map((d) => d.name)).toEqual(
      ["nyc3-0", "nyc3-1", "ams3-0", "ams3-1"].map((n) => `${n}-${droplets}-droplet`),
    );
    const stackWide = [":SshPublicKey", ":SshKey", ":ReservedIp", ":ReservedIpAssignment"].flatMap(
      byType,
    );
    expect(stackWide.map((r) => r.name).sort()).toEqual([
      "reserved-ip-ams3",
      "reserved-ip-ams3-assignment",
      "reserved-ip-nyc3",
      "reserved-ip-nyc3-assignment",
      "ssh-key",
      "ssh-public-key",
    ]);
  });

  test("the SSH key holds only an ed25519 public key", () => {
    const [key] = byType(":SshKey");
    expect(String(key.inputs.publicKey)).toMatch(
      /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} exoform-mocked$/,
    );
    expect(JSON.stringify(registered)).not.toMatch(/PRIVATE KEY/);
  });

  test("each reserved IP assignment waits for every health check and points at its region's first Droplet", () => {
    const checks = byType(":HealthCheck");
    expect(checks).toHaveLength(4);
    const assignments = byType(":ReservedIpAssignment");
    expect(assignments.map((a) => a.name)).toEqual([
      "reserved-ip-nyc3-assignment",
      "reserved-ip-ams3-assignment",
    ]);
    for (const a of assignments)
      expect(a.dependencies).toEqual(expect.arrayContaining(checks.map((c) => c.urn)));
    expect(assignments.map((a) => a.inputs.dropletId)).toEqual([500000001, 500000003]);
    const ips = byType(":ReservedIp");
    expect(ips.map((i) => i.inputs.region)).toEqual(["nyc3", "ams3"]);
  });

  test("health checks probe through the firewall: each depends on its Droplet and firewall", () => {
    const checks = byType(":HealthCheck");
    const firewalls = byType(":Firewall");
    checks.forEach((check, i) => expect(check.dependencies).toContain(firewalls[i].urn));
  });

  test("the Spaces keys are registered as a secret and appear in no output; nor does the token", () => {
    const [upload] = byType(":SpacesImageUpload");
    expect(isSecret(upload.inputs.credentials)).toBe(true);
    const [window] = byType(":SpacesImportWindow");
    expect(isSecret(window.inputs.credentials)).toBe(true);
    const text = JSON.stringify(outputs);
    for (const secret of [ACCESS_ID, SECRET_KEY, TOKEN]) expect(text).not.toContain(secret);
    for (const r of registered.filter(
      (r) => !r.type.endsWith("SpacesImageUpload") && !r.type.endsWith("SpacesImportWindow"),
    ))
      expect(JSON.stringify(r.inputs)).not.toContain(SECRET_KEY);
  });
});

describe("DigitalOcean target, mocked: a health check still running", () => {
  test("no reserved IP is assigned until the last health check has passed", async () => {
    await setUpMocks("mocked-gate");
    setCredentials(ALL_CREDENTIALS);
    let release!: () => void;
    heldCheck = { instance: "mocked-gate-ams3-1", until: new Promise<void>((r) => (release = r)) };
    try {
      const outputs = await deploy(context("mocked-gate"));
      await waitFor(
        () => byType(":HealthCheck").length === 3 && byType(":ReservedIp").length === 2,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(byType(":ReservedIpAssignment")).toHaveLength(0);

      release();
      await resolved(outputs);

      const assignments = byType(":ReservedIpAssignment");
      expect(assignments).toHaveLength(2);
      const checks = byType(":HealthCheck");
      expect(checks.map((c) => c.name)).toContain(
        `ams3-1-${dropletGeneration(IMAGE_ID, "s-1vcpu-512mb-10gb")}-health`,
      );
      for (const a of assignments)
        expect(a.dependencies).toEqual(expect.arrayContaining(checks.map((c) => c.urn)));
    } finally {
      heldCheck = undefined;
    }
  });
});

async function waitFor(condition: () => boolean) {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for registrations");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("DigitalOcean target, mocked: missing credentials", () => {
  test.each([
    [
      "digitalocean:token",
      "pulumi config set --secret digitalocean:token <api token> --stack mocked-nokeys",
    ],
    ["digitalocean:spacesAccessId", "pulumi config set --secret digitalocean:spacesAccessId"],
    ["digitalocean:spacesSecretKey", "pulumi config set --secret digitalocean:spacesSecretKey"],
  ])("without %s: a RunError naming the command that sets it", async (missing, command) => {
    await setUpMocks("mocked-nokeys");
    const config: Record<string, string> = { ...ALL_CREDENTIALS };
    delete config[missing];
    setCredentials(config);
    const saved = { ...process.env };
    for (const v of [
      "DIGITALOCEAN_TOKEN",
      "DIGITALOCEAN_ACCESS_TOKEN",
      "SPACES_ACCESS_KEY_ID",
      "SPACES_SECRET_ACCESS_KEY",
    ])
      delete process.env[v];
    try {
      const error = await Promise.resolve()
        .then(() => deploy(context("mocked-nokeys")))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(pulumi.RunError);
      expect((error as Error).message).toContain(command);
      expect((error as Error).message).toContain("stacks/Pulumi.mocked-nokeys.yaml");
    } finally {
      process.env = saved;
    }
  });
});
