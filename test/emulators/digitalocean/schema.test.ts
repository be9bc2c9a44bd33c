/**
 * The emulator's schema against the real provider's: property names and required inputs from
 * the installed `@pulumi/digitalocean` typings, the replace-on-change sets from the table in
 * /work/shared/notes/cloud-facts.md §1 (pulumi-digitalocean schema.json `willReplaceOnChanges`,
 * TF-DO ForceNew), checked through the emulator's own diff; plus check's defaults, autonaming
 * and DO-like validation, the SSH fingerprint and the image import rules.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { decompress, diskFormat, fetchImage, ImportError, urlProblem } from "./images";
import { assertOwnNamespace, rotatingAddress } from "./network";
import { DigitalOceanEmulator, sshFingerprint } from "./provider";
import { SCHEMA, TypeName, UNKNOWN } from "./schema";
import { requestedPluginVersion } from "./install";
import { PROVIDER_VERSION } from "./schema";

const pkgDir = path.dirname(require.resolve("@pulumi/digitalocean/package.json"));
const FILES: Record<TypeName, string> = {
  CustomImage: "customImage",
  Droplet: "droplet",
  Firewall: "firewall",
  ReservedIp: "reservedIp",
  ReservedIpAssignment: "reservedIpAssignment",
  SshKey: "sshKey",
};

/** `{name: required}` of `export interface <Type>Args { … }` in the package's typings. */
function argsOf(type: TypeName): Record<string, boolean> {
  const dts = fs.readFileSync(path.join(pkgDir, `${FILES[type]}.d.ts`), "utf8");
  const body = new RegExp(`export interface ${type}Args \\{([\\s\\S]*?)\\n\\}`).exec(dts)![1];
  const out: Record<string, boolean> = {};
  for (const m of body.matchAll(/^ {4}(\w+)(\??):/gm)) out[m[1]] = m[2] !== "?";
  return out;
}

/** Names of the resource class's output properties in the typings. */
function outputsOf(type: TypeName): string[] {
  const dts = fs.readFileSync(path.join(pkgDir, `${FILES[type]}.d.ts`), "utf8");
  const body = new RegExp(`export declare class ${type} [\\s\\S]*?\\n\\}`).exec(dts)![0];
  return [...body.matchAll(/^ {4}readonly (\w+)!?:/gm)].map((m) => m[1]);
}

/** cloud-facts.md §1: inputs marked R (replace on change) for pulumi-digitalocean 4.80.1. */
const REPLACE_TABLE: Record<TypeName, string[]> = {
  CustomImage: ["url"],
  Droplet: [
    "image",
    "region",
    "sshKeys",
    "userData",
    "vpcUuid",
    "monitoring",
    "dropletAgent",
    "publicNetworking",
    "gpuPartitionMode",
  ],
  Firewall: [],
  ReservedIp: ["region"],
  ReservedIpAssignment: ["ipAddress", "dropletId"],
  SshKey: ["publicKey"],
};

const urn = (type: TypeName, name = "r") => `urn:pulumi:test::p::${SCHEMA[type].token}::${name}`;

/** A value different from `v` of the same shape. */
function other(v: unknown): unknown {
  if (typeof v === "boolean") return !v;
  if (typeof v === "number") return v + 1;
  if (Array.isArray(v)) return [...v, "other"];
  if (v && typeof v === "object") return { ...v, extra: "other" };
  return `${v ?? ""}-other`;
}

function sample(key: string): unknown {
  if (
    /^(monitoring|dropletAgent|publicNetworking|ipv6|backups|gracefulShutdown|resizeDisk|privateNetworking)$/.test(
      key,
    )
  )
    return false;
  if (key === "dropletId") return 500000001;
  if (/Ids$|^(tags|regions|sshKeys|inboundRules|outboundRules)$/.test(key)) return ["a"];
  if (key === "backupPolicy") return { plan: "daily" };
  return "value";
}

describe("the emulator's schema is the provider's", () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-do-schema-"));
  const emulator = new DigitalOceanEmulator(stateDir);
  afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  test("the plugin version is the one @pulumi/digitalocean asks for", () => {
    expect(requestedPluginVersion()).toBe(PROVIDER_VERSION);
  });

  test.each(Object.keys(SCHEMA) as TypeName[])(
    "%s: input names and required inputs match the typings",
    (type) => {
      const args = argsOf(type);
      const required = Object.entries(SCHEMA[type].inputs)
        .filter(([, s]) => s.required)
        .map(([k]) => k)
        .sort();
      expect(Object.keys(SCHEMA[type].inputs).sort()).toEqual(Object.keys(args).sort());
      expect(required).toEqual(
        Object.entries(args)
          .filter(([, r]) => r)
          .map(([k]) => k)
          .sort(),
      );
    },
  );

  test.each(Object.keys(SCHEMA) as TypeName[])(
    "%s: every output the typings declare is produced",
    (type) => {
      const produced = new Set([...Object.keys(SCHEMA[type].inputs), ...SCHEMA[type].outputs]);
      expect(outputsOf(type).filter((k) => !produced.has(k))).toEqual([]);
    },
  );

  test.each(Object.keys(SCHEMA) as TypeName[])(
    "%s: changing an input replaces exactly for the table's set",
    async (type) => {
      const inputs = Object.fromEntries(
        Object.keys(SCHEMA[type].inputs).map((k) => [k, sample(k)]),
      );
      const replacing: string[] = [];
      const updating: string[] = [];
      for (const key of Object.keys(inputs)) {
        const d = await emulator.diff("1", urn(type), inputs, {
          ...inputs,
          [key]: other(inputs[key]),
        });
        expect({ key, changes: d.changes }).toEqual({ key, changes: true });
        if (d.replaces?.includes(key)) replacing.push(key);
        else updating.push(key);
      }
      expect(replacing.sort()).toEqual([...REPLACE_TABLE[type]].sort());
      const same = await emulator.diff("1", urn(type), inputs, inputs);
      expect(same).toEqual({ changes: false, replaces: [] });
    },
  );

  test("an unknown value (preview) of a replacing input plans a replacement", async () => {
    const olds = { image: "500000001", size: "s-1vcpu-1gb", name: "vm-1234567" };
    const d = await emulator.diff("2", urn("Droplet"), olds, { ...olds, image: UNKNOWN });
    expect(d.replaces).toEqual(["image"]);
  });

  test("TF-DO CustomizeDiff: removing an image region replaces, adding one updates", async () => {
    const olds = {
      url: "http://x/a.img.gz",
      regions: ["nyc3", "ams3"],
      name: "i",
      distribution: "Unknown",
    };
    expect(
      (await emulator.diff("1", urn("CustomImage"), olds, { ...olds, regions: ["nyc3"] })).replaces,
    ).toEqual(["regions"]);
    const add = await emulator.diff("1", urn("CustomImage"), olds, {
      ...olds,
      regions: ["ams3", "nyc3", "fra1"],
    });
    expect(add).toEqual({ changes: true, replaces: [] });
    const reordered = await emulator.diff("1", urn("CustomImage"), olds, {
      ...olds,
      regions: ["ams3", "nyc3"],
    });
    expect(reordered.changes).toBe(false);
  });

  test("left-out optional+computed inputs keep the provider's value", async () => {
    const olds = {
      image: "1",
      size: "s-1vcpu-1gb",
      name: "vm-1",
      region: "nyc3",
      vpcUuid: "u",
      ipv4Address: "203.0.113.2",
    };
    const d = await emulator.diff("2", urn("Droplet"), olds, {
      image: "1",
      size: "s-1vcpu-1gb",
      name: "vm-1",
    });
    expect(d).toEqual({ changes: false, replaces: [] });
  });

  test("check fills TF defaults, autonames, keeps an old name and reports missing inputs", async () => {
    const c = await emulator.check(urn("Droplet", "web"), {}, { image: "1", size: "s-1vcpu-1gb" });
    expect(c.failures).toEqual([]);
    expect(c.inputs).toMatchObject({
      name: expect.stringMatching(/^web-[0-9a-f]{7}$/),
      monitoring: false,
      ipv6: false,
      backups: false,
      gracefulShutdown: false,
      resizeDisk: true,
    });
    const again = await emulator.check(urn("Droplet", "web"), c.inputs, {
      image: "1",
      size: "s-1vcpu-1gb",
    });
    expect(again.inputs.name).toBe(c.inputs.name);
    const image = await emulator.check(
      urn("CustomImage"),
      {},
      { regions: ["nyc3"], distribution: "Plan9" },
    );
    expect(image.failures).toEqual([
      { property: "url", reason: "Missing required property 'url'" },
      {
        property: "distribution",
        reason: expect.stringContaining('expected distribution to be one of ["Arch Linux"'),
      },
    ]);
    const fw = await emulator.check(
      urn("Firewall"),
      {},
      { inboundRules: [{ protocol: "tcp", sourceAddresses: ["0.0.0.0/0"] }] },
    );
    expect(fw.failures).toEqual([
      {
        property: "inboundRules[0].portRange",
        reason: "`port_range` of inbound rules is required if protocol is `tcp` or `udp`",
      },
    ]);
    const none = await emulator.check(urn("Firewall"), {}, {});
    expect(none.failures).toEqual([
      { property: "inboundRules", reason: "At least one rule must be specified" },
    ]);
  });

  test("the SSH fingerprint is OpenSSH's MD5 fingerprint; a malformed key has none", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-do-key-"));
    try {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
      const pub = fs.readFileSync(path.join(dir, "k.pub"), "utf8");
      const md5 = execFileSync("ssh-keygen", ["-l", "-E", "md5", "-f", path.join(dir, "k.pub")], {
        encoding: "utf8",
      });
      expect(md5).toContain(`MD5:${sshFingerprint(pub)}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(sshFingerprint("ssh-ed25519 bm90IGEga2V5")).toBeUndefined();
    expect(sshFingerprint("just words")).toBeUndefined();
  });
});

describe("custom image import rules", () => {
  const mbr = Buffer.alloc(1024);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  let server: http.Server;
  let base: string;
  const files: Record<string, Buffer> = {
    "/disk.img.gz": zlib.gzipSync(mbr),
    "/disk.img": mbr,
    "/disk.img.xz": Buffer.concat([
      Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
      randomBytes(64),
    ]),
    "/disk.tar.gz": zlib.gzipSync(
      Buffer.concat([Buffer.alloc(257), Buffer.from("ustar"), Buffer.alloc(250)]),
    ),
    "/notes.txt.gz": zlib.gzipSync(Buffer.from("hello")),
  };
  const methods: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      methods.push(`${req.method} ${req.url} ${req.headers.authorization ?? "anonymous"}`);
      const body = files[req.url!];
      if (req.url!.startsWith("/private/")) res.writeHead(403).end();
      else if (!body) res.writeHead(404).end();
      else
        res
          .writeHead(200, { "content-length": body.length })
          .end(req.method === "HEAD" ? undefined : body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test("a gzip'd raw MBR disk imports, fetched anonymously with HEAD then GET", async () => {
    methods.length = 0;
    const img = await fetchImage(`${base}/disk.img.gz`);
    expect(img.format).toBe("raw");
    expect(img.disk.equals(mbr)).toBe(true);
    expect(methods).toEqual(["HEAD /disk.img.gz anonymous", "GET /disk.img.gz anonymous"]);
  });

  test.each([
    ["/disk.img.gz?X-Amz-Signature=abc", /query string/],
    ["/images/", /end in a file name/],
    ["/private/disk.img.gz", /HEAD with 403/],
    ["/missing.img.gz", /HEAD with 404/],
    ["/disk.img.xz", /We don't support the compression format/],
    ["/disk.tar.gz", /contains multiple files/],
    ["/notes.txt.gz", /not in a supported format/],
  ])("%s is refused", async (p, message) => {
    await expect(fetchImage(`${base}${p}`)).rejects.toThrow(message);
    await expect(fetchImage(`${base}${p}`)).rejects.toBeInstanceOf(ImportError);
  });

  test("format detection covers DO's list", () => {
    expect(diskFormat(Buffer.from("QFI\xfb\0\0\0\x03", "latin1"))).toBe("qcow2");
    expect(diskFormat(Buffer.from("KDMV\x01\0\0\0", "latin1"))).toBe("vmdk");
    expect(diskFormat(Buffer.from("vhdxfile"))).toBe("vhdx");
    expect(decompress(mbr)).toBe(mbr);
    expect(urlProblem("ftp://x/a.img")).toMatch(/http or https/);
    expect(urlProblem("https://b.nyc3.digitaloceanspaces.com/exoform/abc.img.gz")).toBeUndefined();
  });
});

describe("droplet addresses", () => {
  test("successive droplets get fresh addresses (a deleted one's lease is not handed out again at once)", () => {
    expect(rotatingAddress("203.0.113.1", 24, 0, [])).toBe("203.0.113.2");
    expect(rotatingAddress("203.0.113.1", 24, 1, [])).toBe("203.0.113.3");
    expect(rotatingAddress("203.0.113.1", 24, 253, [])).toBe("203.0.113.2");
    expect(rotatingAddress("203.0.113.1", 24, 253, ["203.0.113.2"])).toBe("203.0.113.3");
  });
});

describe("the emulator's network stays out of the host's namespace", () => {
  test("bridges, addresses and NAT rules are refused in pid 1's network namespace", () => {
    let hostNs: string | undefined;
    try {
      hostNs = fs.readlinkSync("/proc/1/ns/net");
    } catch {
      hostNs = undefined;
    }
    if (hostNs === fs.readlinkSync("/proc/self/ns/net"))
      expect(() => assertOwnNamespace()).toThrow(/runs only inside a network namespace/);
    else expect(() => assertOwnNamespace()).not.toThrow();
  });
});

describe("API authentication", () => {
  test("a wrong or missing token is DO's 401 on the first API call, in godo's error format", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-do-auth-"));
    const saved = { ...process.env };
    try {
      process.env.EXOFORM_DO_EMULATOR_TOKEN = "the-right-token";
      delete process.env.DIGITALOCEAN_TOKEN;
      delete process.env.DIGITALOCEAN_ACCESS_TOKEN;
      const emulator = new DigitalOceanEmulator(dir);
      const key = { publicKey: "ssh-ed25519 AAAA", name: "k" };
      emulator.configure({ token: "a-wrong-token" });
      await expect(emulator.create(urn("SshKey"), key)).rejects.toThrow(
        /^POST https:\/\/api\.digitalocean\.com\/v2\/account\/keys: 401 \(request "[0-9a-f-]{36}"\) Unable to authenticate you$/,
      );
      emulator.configure({});
      await expect(emulator.create(urn("SshKey"), key)).rejects.toThrow(
        /401 .*Unable to authenticate you/,
      );
      emulator.configure({ token: "the-right-token", apiEndpoint: "https://api.example.test" });
      await expect(emulator.create(urn("SshKey"), key)).rejects.toThrow(
        /^Error creating SSH Key: POST https:\/\/api\.example\.test\/v2\/account\/keys: 422 .* Key invalid/,
      );
    } finally {
      process.env = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
