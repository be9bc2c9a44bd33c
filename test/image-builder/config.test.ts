import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import {
  DEFAULT_CONTENT_TYPE,
  DEFAULT_HTTP_BODY,
  ImageConfigError,
  ImageConfigSchema,
  loadImageConfigFile,
  parseImageConfig,
} from "../../image-builder";
import {
  bodyBudget,
  configBlockFromPayload,
  encodeConfigBlock,
} from "../../image-builder/config-block";
import { tempDir } from "./helpers";

/** The one-problem message parseImageConfig throws for `input`. */
function errorFor(input: unknown, where?: string): string {
  try {
    parseImageConfig(input, where);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageConfigError);
    return (e as Error).message;
  }
  throw new Error("expected the configuration to be refused");
}

const staticNet = (address: string, gateway?: string) => ({
  network: { mode: "static", address, ...(gateway && { gateway }) },
});

describe("parseImageConfig", () => {
  it("applies the defaults to an empty object", () => {
    expect(parseImageConfig({})).toEqual({
      network: { mode: "dhcp" },
      http: { port: 80, body: DEFAULT_HTTP_BODY, contentType: "text/plain; charset=utf-8" },
      hostname: "exoform",
    });
  });

  it("keeps a full static configuration as given", () => {
    const config = {
      network: { mode: "static", address: "10.0.0.5/24", gateway: "10.0.0.1" },
      http: { port: 8080, body: "hi", contentType: "text/html; charset=utf-8" },
      hostname: "web-1",
    };
    expect(parseImageConfig(config)).toEqual(config);
  });

  it("accepts the edge cases the kernel accepts", () => {
    expect(() => parseImageConfig(staticNet("10.0.0.5/32"))).not.toThrow();
    expect(() => parseImageConfig(staticNet("10.0.0.0/31", "10.0.0.1"))).not.toThrow();
    expect(() => parseImageConfig({ http: { port: 65535 } })).not.toThrow();
    expect(() => parseImageConfig({ hostname: "a".repeat(63) })).not.toThrow();
    for (const contentType of [
      "application/json",
      'text/plain;charset="utf-8"',
      "image/svg+xml; a=b ; c=d",
      `text/x-${"a".repeat(120)}`, // 127 characters
    ])
      expect(() => parseImageConfig({ http: { contentType } })).not.toThrow();
  });

  it.each([
    [
      staticNet("10.0.0.300/24"),
      'network.address: must be an IPv4 address with a prefix length, like 10.0.0.5/24 (got "10.0.0.300/24")',
    ],
    [staticNet("10.0.0.5"), "network.address: must be an IPv4 address with a prefix length"],
    [staticNet("10.0.0.5/33"), "network.address: must be an IPv4 address with a prefix length"],
    [staticNet("010.0.0.5/24"), "network.address: must be an IPv4 address with a prefix length"],
    [staticNet("10.0.0.5/0"), "network.address: prefix length must be 1–32 (got 10.0.0.5/0)"],
    [staticNet("10.0.0.0/24"), "network.address: 10.0.0.0/24 is the network address of its subnet"],
    [
      staticNet("10.0.0.255/24"),
      "network.address: 10.0.0.255/24 is the broadcast address of its subnet",
    ],
    [staticNet("127.0.0.2/8"), "network.address: 127.0.0.2/8 is a loopback address"],
    [
      staticNet("10.0.0.5/24", "10.0.1.1"),
      "network.gateway: 10.0.1.1 is not on the subnet of 10.0.0.5/24",
    ],
    [staticNet("10.0.0.5/24", "10.0.0.5"), "network.gateway: 10.0.0.5 is the address itself"],
    [
      staticNet("10.0.0.5/24", "10.0.0.x"),
      'network.gateway: must be an IPv4 address, like 10.0.0.1 (got "10.0.0.x")',
    ],
    [{ network: { mode: "static" } }, "network.address: required setting is missing"],
    [{ network: { mode: "bridge" } }, 'network.mode: must be "dhcp" or "static"'],
    [{ network: { mode: "dhcp", address: "10.0.0.5/24" } }, "network.address: unknown setting"],
    [{ http: { port: 0 } }, "http.port: Too small: expected number to be >=1"],
    [{ http: { port: 70000 } }, "http.port: Too big: expected number to be <=65535"],
    [{ http: { port: 80.5 } }, "http.port: Invalid input: expected int, received number"],
    [{ http: { port: "80" } }, "http.port: Invalid input: expected number, received string"],
    [
      { hostname: "Web" },
      'hostname: must be 1–63 characters of a–z, 0–9 and "-", not starting or ending with "-" (got "Web")',
    ],
    [{ hostname: "-web" }, "hostname: must be 1–63 characters"],
    [{ hostname: "a".repeat(64) }, "hostname: must be 1–63 characters"],
    [{ hostname: "" }, "hostname: must be 1–63 characters"],
    [{ http: { contentType: "" } }, "http.contentType: must be a media type"],
    [{ http: { contentType: "text" } }, "http.contentType: must be a media type"],
    [{ http: { contentType: "text/html\r\nX-Evil: 1" } }, "http.contentType: must be a media type"],
    [{ http: { contentType: "text/html; charset=é" } }, "http.contentType: must be a media type"],
    [{ http: { contentType: 'text/html; q="a"b"' } }, "http.contentType: must be a media type"],
    [
      { http: { contentType: `text/x-${"a".repeat(121)}` } },
      "http.contentType: must be at most 127",
    ],
    [{ colour: "blue" }, "colour: unknown setting"],
  ])("refuses %j with one error naming the field", (input, expected) => {
    const message = errorFor(input);
    expect(message).toContain(`invalid image configuration: ${expected}`);
    expect(message.split("\n")).toHaveLength(1);
  });

  it("refuses a body over the block's budget, naming the field and both sizes", () => {
    const budget = bodyBudget(parseImageConfig({}));
    expect(() => parseImageConfig({ http: { body: "x".repeat(budget) } })).not.toThrow();
    expect(errorFor({ http: { body: "x".repeat(budget + 1) } })).toContain(
      `http.body: is ${budget + 1} bytes (UTF-8), but the 4 KiB configuration block has room for ${budget} bytes`,
    );
  });

  it("counts the body in UTF-8 bytes, not characters", () => {
    const budget = bodyBudget(parseImageConfig({}));
    const euros = "€".repeat(Math.floor(budget / 3) + 1); // 3 bytes each
    expect(errorFor({ http: { body: euros } })).toContain("http.body:");
  });

  it("names where the configuration came from and lists every problem", () => {
    const message = errorFor({ hostname: "Bad", http: { port: -1 } }, "stacks/Pulumi.dev.yaml");
    expect(message).toMatch(/^stacks\/Pulumi\.dev\.yaml: invalid image configuration:\n/);
    expect(message).toContain("\n  http.port:");
    expect(message).toContain("\n  hostname:");
  });

  it("is a zod schema other schemas can embed", () => {
    expect(ImageConfigSchema.safeParse({ hostname: "ok" }).success).toBe(true);
  });
});

describe("loadImageConfigFile", () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads and validates a JSON file", async () => {
    const file = path.join(dir, "ok.json");
    fs.writeFileSync(file, JSON.stringify({ hostname: "from-file" }));
    await expect(loadImageConfigFile(file)).resolves.toMatchObject({ hostname: "from-file" });
  });

  it("names the file when the JSON is invalid, missing or the config is wrong", async () => {
    const broken = path.join(dir, "broken.json");
    fs.writeFileSync(broken, "{ hostname: ");
    await expect(loadImageConfigFile(broken)).rejects.toThrow(
      `${broken}: invalid image configuration: not valid JSON`,
    );
    const missing = path.join(dir, "missing.json");
    await expect(loadImageConfigFile(missing)).rejects.toThrow(
      `${missing}: invalid image configuration: cannot read the file`,
    );
    const wrong = path.join(dir, "wrong.json");
    fs.writeFileSync(wrong, JSON.stringify({ http: { port: 99999 } }));
    await expect(loadImageConfigFile(wrong)).rejects.toThrow(
      `${wrong}: invalid image configuration: http.port:`,
    );
  });
});

describe("encodeConfigBlock", () => {
  it("writes the contract's header and payload", () => {
    const config = parseImageConfig({
      network: { mode: "static", address: "10.0.2.15/24", gateway: "10.0.2.2" },
      http: { port: 8080, body: "héllo\n" },
      hostname: "box",
    });
    const block = encodeConfigBlock(config);
    expect(block).toHaveLength(4096);
    expect(block.subarray(0, 8).toString("ascii")).toBe("EXOCFG01");
    const length = block.readUInt32LE(8);
    const payload = block.subarray(48, 48 + length);
    expect(payload.toString("utf8")).toBe(
      `net=static\nip=10.0.2.15/24\ngw=10.0.2.2\nport=8080\nhostname=box\ncontent-type=${DEFAULT_CONTENT_TYPE}\n\nhéllo\n`,
    );
    expect(block.readUInt32LE(12)).toBe(zlib.crc32(payload));
    expect(block.subarray(16, 48).every((b) => b === 0)).toBe(true);
    expect(block.subarray(48 + length).every((b) => b === 0)).toBe(true);
  });

  it("writes dhcp without ip or gw, and an empty body as nothing after the empty line", () => {
    const block = encodeConfigBlock(parseImageConfig({ http: { body: "" } }));
    const payload = block.subarray(48, 48 + block.readUInt32LE(8)).toString("ascii");
    expect(payload).toBe(
      `net=dhcp\nport=80\nhostname=exoform\ncontent-type=${DEFAULT_CONTENT_TYPE}\n\n`,
    );
  });

  it("fills the block exactly when the body uses the whole budget", () => {
    const config = parseImageConfig({ http: { body: "" } });
    const full = parseImageConfig({ http: { body: "y".repeat(bodyBudget(config)) } });
    expect(encodeConfigBlock(full).readUInt32LE(8)).toBe(4096 - 48);
  });

  it("wraps any payload up to 4048 bytes, and refuses a longer one", () => {
    const block = configBlockFromPayload(Buffer.from("no empty line"));
    expect(block.readUInt32LE(8)).toBe(13);
    expect(() => configBlockFromPayload(Buffer.alloc(4049))).toThrow("over 4048");
  });
});
