/**
 * The DigitalOcean target's pure pieces: settings, names, tags, firewall rules, costs, the
 * object key and URL, the upload's diff, the SSH key format, and the dynamic providers'
 * serialization (they must capture no client, schema or absolute path).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { exoformConfigFromPulumi, parseStackConfig } from "../../../infra/config";
import {
  diffImageUpload,
  generateSshPublicKey,
  ImageUploadState,
  updateImageUpload,
} from "../../../infra/targets/digitalocean/provider-impl";
import {
  planInstances,
  resourceTags,
  stackMonthlyCostUsd,
  firewallRules,
  baseUrl,
  elapsedMs,
  createdAtEpochMs,
  dropletGeneration,
} from "../../../infra/targets/digitalocean/plan";
import {
  spacesImageUploadProvider,
  spacesImportWindowProvider,
  sshPublicKeyProvider,
  timestampProvider,
} from "../../../infra/targets/digitalocean/resources";
import {
  DigitalOceanSettingsSchema,
  spacesEndpoint,
} from "../../../infra/targets/digitalocean/settings";
import {
  describeS3Error,
  imageObjectKey,
  imageObjectUrl,
} from "../../../infra/targets/digitalocean/spaces";
import { digitalOceanTarget } from "../../../infra/targets/digitalocean";
import type { InstanceOutput } from "../../../infra/outputs";

const IMAGE_ID = "0123456789abcdef".repeat(4);

describe("exoform:digitalocean settings", () => {
  test("defaults: nyc3, the $4 size, endpoint from the region, objects deleted after import", () => {
    const s = DigitalOceanSettingsSchema.parse({ spaces: { bucket: "my-space" } });
    expect(s).toMatchObject({
      regions: ["nyc3"],
      size: "s-1vcpu-512mb-10gb",
      tags: [],
      importTimeoutMinutes: 60,
      imageStorageUsdPerGbMonth: 0.06,
      spaces: {
        bucket: "my-space",
        forcePathStyle: false,
        signingRegion: "us-east-1",
        keyPrefix: "exoform",
        keepUploadedImage: false,
        maxAttempts: 5,
      },
    });
    expect(spacesEndpoint(s)).toBe("https://nyc3.digitaloceanspaces.com");
    expect(
      spacesEndpoint(
        DigitalOceanSettingsSchema.parse({
          regions: ["ams3", "nyc3"],
          spaces: { bucket: "b-b", region: "fra1" },
        }),
      ),
    ).toBe("https://fra1.digitaloceanspaces.com");
  });

  test.each([
    [{}, "spaces"],
    [{ spaces: {} }, "the name of an existing Space"],
    [{ spaces: { bucket: "Upper_Case" } }, "must be a Space name"],
    [{ spaces: { bucket: "ok-name", endpoint: "ftp://x" } }, "http(s) URL"],
    [{ spaces: { bucket: "ok-name", endpoint: "https://id:key@x" } }, "no user info"],
    [{ regions: ["new york"], spaces: { bucket: "ok-name" } }, "region slug"],
    [{ regions: ["nyc3", "nyc3"], spaces: { bucket: "ok-name" } }, "each region once"],
    [{ regions: [], spaces: { bucket: "ok-name" } }, "at least one region"],
    [{ tags: ["has space"], spaces: { bucket: "ok-name" } }, "a tag may hold"],
    [{ spaces: { bucket: "ok-name", acl: "public" } }, "acl"],
  ])("%j is refused, mentioning %s", (input, message) => {
    const result = DigitalOceanSettingsSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error!.issues)).toContain(message);
  });
});

describe("stacks/Pulumi.do-example.yaml", () => {
  const file = path.join(__dirname, "..", "..", "..", "stacks", "Pulumi.do-example.yaml");
  const text = fs.readFileSync(file, "utf8");

  test("validates as it is, and holds no secret, salt or secure value", () => {
    // js-yaml comes with @pulumi/pulumi; Pulumi hands the program objects as JSON text.
    const yaml = require("js-yaml") as { load(text: string): { config: Record<string, unknown> } };
    const flat = Object.fromEntries(
      Object.entries(yaml.load(text).config).map(([k, v]) => [
        k,
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    );
    const config = parseStackConfig(exoformConfigFromPulumi(flat), "stacks/Pulumi.do-example.yaml");
    expect(config.target).toBe("digitalocean");
    expect(config.settings).toMatchObject({
      regions: ["nyc3"],
      spaces: { bucket: "my-exoform-images" },
    });
    expect(Object.keys(flat).filter((k) => !k.startsWith("exoform:"))).toEqual([]);
    expect(text).not.toMatch(/^\s*(encryptionsalt|secure):/m);
  });

  test("documents the commands that set the three secrets", () => {
    for (const key of ["token", "spacesAccessId", "spacesSecretKey"])
      expect(text).toContain(`pulumi config set --secret digitalocean:${key} `);
  });
});

describe("plan", () => {
  test("per region, dropletsPerRegion (else exoform:instances) instances named <stack>-<region>-<i>", () => {
    expect(planInstances("prod", { regions: ["nyc3", "ams3"], dropletsPerRegion: 1 }, 3)).toEqual([
      { region: "nyc3", index: 0, instance: "prod-nyc3-0" },
      { region: "ams3", index: 0, instance: "prod-ams3-0" },
    ]);
    expect(planInstances("s", { regions: ["sgp1"] }, 2).map((p) => p.instance)).toEqual([
      "s-sgp1-0",
      "s-sgp1-1",
    ]);
  });

  test("tags carry the stack and the full image id, in DO's tag alphabet, without repeats", () => {
    expect(resourceTags("my.stack", IMAGE_ID, ["team", "exoform"])).toEqual([
      "exoform",
      "exoform-stack:my_stack",
      `exoform-image:${IMAGE_ID}`,
      "team",
    ]);
  });

  test("firewall: ICMP and the HTTP port in, UDP 67-68 (DHCP) out, nothing else", () => {
    expect(firewallRules(80)).toEqual({
      inbound: [
        { protocol: "icmp", addresses: ["0.0.0.0/0", "::/0"] },
        { protocol: "tcp", portRange: "80", addresses: ["0.0.0.0/0", "::/0"] },
      ],
      outbound: [{ protocol: "udp", portRange: "67-68", addresses: ["0.0.0.0/0", "::/0"] }],
    });
  });

  test("costs: Droplets plus image storage at the GB-month price, in cents", () => {
    expect(stackMonthlyCostUsd([4, 4, 6], 0.3, 0.06)).toBe(14.02);
    expect(stackMonthlyCostUsd([], 0, 0.06)).toBe(0);
  });

  test("URLs, durations and DO timestamps", () => {
    expect(baseUrl("203.0.113.9", 80)).toBe("http://203.0.113.9/");
    expect(baseUrl("203.0.113.9", 8080)).toBe("http://203.0.113.9:8080/");
    expect(elapsedMs(1000, 500)).toBe(0);
    expect(elapsedMs(1000, 2500.4)).toBe(1500);
    expect(createdAtEpochMs("2026-11-29T09:00:00Z", 7)).toBe(Date.UTC(2026, 10, 29, 9));
    expect(createdAtEpochMs("not a date", 7)).toBe(7);
  });
});

describe("Droplet generations", () => {
  test("a new image or a new size is a new generation; the same pair is the same one", () => {
    const a = "a".repeat(64);
    const b = "b".repeat(64);
    expect(dropletGeneration(a, "s-1vcpu-512mb-10gb")).toMatch(/^[0-9a-f]{12}$/);
    expect(dropletGeneration(a, "s-1vcpu-512mb-10gb")).toBe(
      dropletGeneration(a, "s-1vcpu-512mb-10gb"),
    );
    expect(dropletGeneration(a, "s-1vcpu-1gb")).not.toBe(
      dropletGeneration(a, "s-1vcpu-512mb-10gb"),
    );
    expect(dropletGeneration(b, "s-1vcpu-512mb-10gb")).not.toBe(
      dropletGeneration(a, "s-1vcpu-512mb-10gb"),
    );
  });
});

describe("object key and URL", () => {
  const base = {
    endpoint: "https://nyc3.digitaloceanspaces.com",
    bucket: "space",
    keyPrefix: "exoform/images",
    keyScope: "prod",
    imageId: IMAGE_ID,
    credentials: { accessKeyId: "id", secretAccessKey: "secret-1" },
  };

  test("ends in <image id>-<32 hex>.img.gz, stable for the same inputs, secret-dependent", () => {
    const key = imageObjectKey(base);
    expect(key).toMatch(new RegExp(`^exoform/images/prod/${IMAGE_ID}-[0-9a-f]{32}\\.img\\.gz$`));
    expect(imageObjectKey(base)).toBe(key);
    expect(
      imageObjectKey({ ...base, credentials: { accessKeyId: "id", secretAccessKey: "secret-2" } }),
    ).not.toBe(key);
    expect(imageObjectKey({ ...base, keySalt: "regions=ams3" })).not.toBe(key);
  });

  test("stack names with other characters become safe key segments", () => {
    expect(imageObjectKey({ ...base, keyScope: "org/stack name" })).toMatch(
      /^exoform\/images\/org_stack_name\//,
    );
  });

  test("virtual-host URL by default, path style on request; never a query string", () => {
    const loc = { ...base, signingRegion: "us-east-1", forcePathStyle: false };
    expect(imageObjectUrl(loc, "a/b.img.gz")).toBe(
      "https://space.nyc3.digitaloceanspaces.com/a/b.img.gz",
    );
    expect(
      imageObjectUrl(
        { ...loc, endpoint: "http://127.0.0.1:8333", forcePathStyle: true },
        "a/b.img.gz",
      ),
    ).toBe("http://127.0.0.1:8333/space/a/b.img.gz");
    expect(() => imageObjectUrl({ ...loc, endpoint: "https://x/?a=b" }, "k")).toThrow(
      /without query/,
    );
  });

  test("a malformed image id is refused", () => {
    expect(() => imageObjectKey({ ...base, imageId: "../../etc" })).toThrow(/64 hex digits/);
  });
});

describe("describeS3Error", () => {
  test("a signature made for another region (AuthorizationHeaderMalformed, with a body) is the wrong region", () => {
    const error = describeS3Error(
      { name: "AuthorizationHeaderMalformed", $metadata: { httpStatusCode: 400 } },
      {
        endpoint: "https://nyc3.digitaloceanspaces.com",
        bucket: "b",
        signingRegion: "eu-west-1",
        forcePathStyle: false,
      },
      "upload the image",
      "k.img.gz",
    );
    expect(error.kind).toBe("wrong-region");
    expect(error.message).toContain("exoform:digitalocean.spaces.region");
  });
});

describe("SpacesImageUpload diff", () => {
  const state: ImageUploadState = {
    endpoint: "https://nyc3.digitaloceanspaces.com",
    bucket: "space",
    signingRegion: "us-east-1",
    forcePathStyle: false,
    credentials: { accessKeyId: "id", secretAccessKey: "s" },
    keyPrefix: "exoform",
    keyScope: "prod",
    imageId: IMAGE_ID,
    file: "/tmp/preview/x.img.gz",
    sha256: "ab".repeat(32),
    bytes: 100,
    keySalt: "regions=nyc3",
    maxAttempts: 5,
    key: "k",
    url: "u",
    bytesSent: 100,
    reused: false,
    uploadMs: 10,
    uploadedAtEpochMs: 1,
  };
  const inputs = Object.fromEntries(
    Object.entries(state).filter(
      ([k]) => !["key", "url", "bytesSent", "reused", "uploadMs", "uploadedAtEpochMs"].includes(k),
    ),
  ) as unknown as Parameters<typeof diffImageUpload>[1];

  test("nothing changed, or only the artefact's path (preview vs up): no change", () => {
    expect(diffImageUpload(state, inputs)).toEqual({ changes: false, replaces: [] });
    expect(diffImageUpload(state, { ...inputs, file: "/elsewhere/x.img.gz" })).toEqual({
      changes: false,
      replaces: [],
    });
  });

  test("a new image, bucket, endpoint or region set: replace", () => {
    expect(diffImageUpload(state, { ...inputs, imageId: "cd".repeat(32) }).replaces).toEqual([
      "imageId",
    ]);
    expect(diffImageUpload(state, { ...inputs, bucket: "other" }).replaces).toEqual(["bucket"]);
    expect(diffImageUpload(state, { ...inputs, keySalt: "regions=ams3,nyc3" }).replaces).toEqual([
      "keySalt",
    ]);
  });

  test("rotated keys: an update that keeps the object", () => {
    const news = { ...inputs, credentials: { accessKeyId: "id2", secretAccessKey: "s2" } };
    expect(diffImageUpload(state, news)).toEqual({ changes: true, replaces: [] });
    expect(updateImageUpload(state, news)).toMatchObject({
      key: "k",
      url: "u",
      credentials: news.credentials,
    });
  });
});

describe("SSH key", () => {
  test("an OpenSSH ssh-ed25519 public key: type string then the 32-byte key", () => {
    const line = generateSshPublicKey("exoform-test");
    const [type, b64, comment] = line.split(" ");
    expect(type).toBe("ssh-ed25519");
    expect(comment).toBe("exoform-test");
    const blob = Buffer.from(b64, "base64");
    expect(blob.readUInt32BE(0)).toBe(11);
    expect(blob.subarray(4, 15).toString()).toBe("ssh-ed25519");
    expect(blob.readUInt32BE(15)).toBe(32);
    expect(blob.length).toBe(4 + 11 + 4 + 32);
    expect(generateSshPublicKey("x")).not.toBe(generateSshPublicKey("x"));
  });
});

describe("the Target's CLI side", () => {
  const instance = (extras: Record<string, unknown>) =>
    ({ name: "prod-nyc3-0", extras }) as unknown as InstanceOutput;

  test("describeInstance names the Droplet, its region and the reserved IP it holds", () => {
    const extras = {
      dropletId: 5001,
      dropletName: "nyc3-0-droplet-1a2b3c4",
      region: "nyc3",
      size: "s-1vcpu-512mb-10gb",
      ipv4Address: "203.0.113.5",
      priceHourly: 0.006,
    };
    expect(digitalOceanTarget.describeInstance!(instance(extras))).toBe("Droplet 5001 in nyc3");
    expect(
      digitalOceanTarget.describeInstance!(instance({ ...extras, reservedIp: "198.51.100.7" })),
    ).toBe("Droplet 5001 in nyc3 (reserved IP 198.51.100.7)");
    expect(() => digitalOceanTarget.describeInstance!(instance({ pid: 3 }))).toThrow(
      /^prod-nyc3-0: not a DigitalOcean instance's outputs/,
    );
  });

  test("progress words for the upload, the import, the Droplets and the reserved IP move", () => {
    const phases = digitalOceanTarget.resourcePhases!;
    expect(
      phases["digitalocean:index/droplet:Droplet"].detail!({
        name: "d-1",
        ipv4Address: "203.0.113.5",
      }),
    ).toBe(" (d-1, 203.0.113.5)");
    expect(
      phases["pulumi-nodejs:dynamic/digitalocean:SpacesImageUpload"].detail!({ reused: true }),
    ).toContain("0 bytes sent");
    expect(
      phases["digitalocean:index/reservedIpAssignment:ReservedIpAssignment"].verbs[
        "create-replacement"
      ],
    ).toEqual(["moving the reserved IP to the new Droplet", "moved"]);
  });
});

describe("dynamic providers serialize into small, location-free stubs", () => {
  const repo = path.resolve(__dirname, "..", "..", "..");
  test.each([
    ["SpacesImageUpload", spacesImageUploadProvider, true],
    ["SpacesImportWindow", spacesImportWindowProvider, true],
    ["SshPublicKey", sshPublicKeyProvider, true],
    ["Timestamp", timestampProvider, false],
  ])("%s", async (_name, provider, loadsImplementation) => {
    const serialized = await pulumi.runtime.serializeFunction(() => provider);
    const text = serialized.text;
    if (loadsImplementation) {
      expect(text).toContain('"infra/targets/digitalocean/provider-impl.js"');
      expect(text).toContain("requireProjectModule");
    }
    expect(text).not.toContain(repo);
    expect(text).not.toMatch(/S3Client|zod|ZodObject|child_process|client-s3/);
    expect(text.length).toBeLessThan(6000);
  });
});
