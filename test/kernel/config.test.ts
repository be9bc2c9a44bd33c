/**
 * kernel/config.c on the host, under AddressSanitizer and UBSan: the configuration block, the
 * SMBIOS serial and the SMBIOS table walk, case by case and fuzzed.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configBlock, kernelDir } from "../helpers/kernel-image";

let dir: string;
let checker: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-config-"));
  checker = path.join(dir, "config_check");
  const sources = ["config.c", "net/log.c"].map((f) => path.join(kernelDir, f));
  execFileSync("gcc", [
    ...["-std=gnu11", "-g", "-O1", "-Wall", "-Wextra", "-Wno-comment", "-Werror"],
    ...["-fsanitize=address,undefined", "-fno-sanitize-recover=all", `-I${kernelDir}`],
    ...sources,
    path.join(__dirname, "host", "config_check.c"),
    ...["-o", checker],
  ]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the checker; returns its console lines and its result line. */
function check(
  mode: string,
  arg: string | Buffer,
  seed?: string,
): { logs: string[]; result: string } {
  let value = arg as string;
  if (Buffer.isBuffer(arg)) {
    value = path.join(dir, "input");
    fs.writeFileSync(value, arg);
  }
  const args = seed === undefined ? [mode, value] : [mode, value, seed];
  const out = execFileSync(checker, args, { encoding: "utf8" }).split("\n");
  return {
    logs: out.filter((l) => l.startsWith("log: ")).map((l) => l.slice(5)),
    result: out.find((l) => l.startsWith("result: "))!.slice(8),
  };
}

const zeroBuild = "0".repeat(64);
/** The kernel's Content-Type for the body when the block sets none. */
const DEFAULT_TYPE = "text/plain; charset=utf-8";

describe("configuration block", () => {
  test("all keys, body and build id", () => {
    const id = Buffer.alloc(32, 0xab);
    const block = configBlock(
      "net=static\nip=10.1.2.3/16\ngw=10.1.0.1\nport=8080\nhostname=web-1\ncontent-type=text/html\n\n<p>hi</p>",
      id,
    );
    expect(check("block", block).result).toBe(
      `source=image dhcp=0 ip=10.1.2.3/16 gw=10.1.0.1 port=8080 hostname=web-1 type=text/html body=<p>hi</p> build=${"ab".repeat(32)}`,
    );
  });

  test("defaults: DHCP, port 80, hostname exoform, empty text/plain body", () => {
    expect(check("block", configBlock("\n")).result).toBe(
      `source=dhcp dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 hostname=exoform type=${DEFAULT_TYPE} body= build=${zeroBuild}`,
    );
  });

  test("unknown keys are reported and ignored", () => {
    const r = check("block", configBlock("net=dhcp\ncolour=blue\n\n"));
    expect(r.logs).toEqual(["config: unknown key colour ignored"]);
    expect(r.result).toMatch(/^source=dhcp /);
  });

  test.each([
    ["bad magic", (b: Buffer) => b.write("EXOCFG02", 0)],
    ["bad length", (b: Buffer) => b.writeUInt32LE(4049, 8)],
    ["bad crc", (b: Buffer) => (b[48] ^= 1)],
  ])("%s", (reason, corrupt) => {
    const block = configBlock("net=static\nip=10.0.0.2/24\n\n");
    corrupt(block);
    expect(check("block", block).result).toBe(`invalid ${reason}`);
  });

  test.each([
    ["net=static\nip=10.0.0.2/24", "no blank line after the settings"],
    ["net=fixed\n\n", "bad net"],
    ["net=static\nip=10.0.0.256/24\n\n", "bad ip"],
    ["net=static\nip=10.0.0.2/33\n\n", "bad ip"],
    ["net=static\nip=10.0.0.2\n\n", "bad ip"],
    ["net=static\nip=10.0.0.2/24x\n\n", "bad ip"],
    ["net=static\nip=0.0.0.0/24\n\n", "bad ip"],
    ["net=static\n\n", "net=static without ip"],
    ["net=static\nip=10.0.0.2/24\ngw=10.0.1.1\n\n", "gw not on the subnet"],
    ["gw=10.0.0\n\n", "bad gw"],
    ["port=0\n\n", "bad port"],
    ["port=65536\n\n", "bad port"],
    ["port=80a\n\n", "bad port"],
    ["hostname=Web\n\n", "bad hostname"],
    ["hostname=\n\n", "bad hostname"],
    [`hostname=${"a".repeat(64)}\n\n`, "bad hostname"],
    ["content-type=\n\n", "bad content-type"],
    [`content-type=text/${"a".repeat(123)}\n\n`, "bad content-type"],
    ["content-type=text/html\x7f\n\n", "bad content-type"],
    ["content-type=text/html\rX-Evil: 1\n\n", "bad content-type"],
    ["net\n\n", "no '=' in a setting"],
  ])("%j is invalid: %s", (payload, reason) => {
    expect(check("block", configBlock(payload)).result).toBe(`invalid ${reason}`);
  });

  test("content-type: any printable ASCII up to 127 characters, as the header's value", () => {
    const type = `application/x-${"a".repeat(106)}; q="1"`;
    expect(type).toHaveLength(127);
    expect(check("block", configBlock(`content-type=${type}\n\n`)).result).toContain(
      ` type=${type} body=`,
    );
  });

  test("the largest payload (4048 bytes) is accepted", () => {
    const payload = "port=81\n\n" + "x".repeat(4048 - 9);
    expect(check("block", configBlock(payload)).result).toMatch(/port=81 .*body=x{4039} /);
  });
});

describe("SMBIOS serial number", () => {
  test("static settings", () => {
    expect(check("smbios", "exo:net=static;ip=10.0.2.15/24;gw=10.0.2.2").result).toBe(
      `source=smbios dhcp=0 ip=10.0.2.15/24 gw=10.0.2.2 port=80 hostname=exoform type=${DEFAULT_TYPE} body= build=${zeroBuild}`,
    );
  });

  test("not ours: ignored silently", () => {
    expect(check("smbios", "ABC-123")).toEqual({
      logs: [],
      result: expect.stringMatching(/^source=dhcp /),
    });
    expect(check("smbios", "exo").result).toMatch(/^source=dhcp /);
  });

  test("port and hostname belong to the image: reported as unknown", () => {
    const r = check("smbios", "exo:net=dhcp;port=81");
    expect(r.logs).toEqual(["config: unknown key port ignored"]);
    expect(r.result).toMatch(/^source=dhcp .* port=80 /);
  });

  test.each([
    ["exo:net=static;ip=10.0.2.15", "bad ip"],
    ["exo:net=static", "net=static without ip"],
    ["exo:net=static;ip=10.0.2.15/24;gw=10.0.3.1", "gw not on the subnet"],
    ["exo:net", "no '=' in a setting"],
  ])("%j is invalid: %s", (serial, reason) => {
    expect(check("smbios", serial).result).toBe(`invalid ${reason}`);
  });
});

describe("SMBIOS table walk", () => {
  /** One structure: type, formatted area (after the 4-byte header), strings. */
  const structure = (type: number, formatted: number[], strings: string[]) =>
    Buffer.concat([
      Buffer.from([type, 4 + formatted.length, 0, 0, ...formatted]),
      Buffer.from(strings.length ? strings.join("\0") + "\0\0" : "\0\0", "latin1"),
    ]);
  const end = structure(127, [], []);

  test("finds the type 1 serial number (string 4) after other structures", () => {
    const bios = structure(0, [1, 2, 0, 0], ["vendor", "version"]);
    const system = structure(
      1,
      [1, 2, 3, 4, 0, 0, 0, 0],
      ["maker", "product", "v1", "exo:net=dhcp"],
    );
    expect(check("table", Buffer.concat([bios, system, end])).result).toBe("exo:net=dhcp");
  });

  test.each([
    ["no type 1", Buffer.concat([structure(0, [], ["x"]), end])],
    ["serial index 0", Buffer.concat([structure(1, [1, 2, 3, 0], ["a", "b", "c"]), end])],
    ["serial index past the strings", Buffer.concat([structure(1, [1, 2, 3, 9], ["a"]), end])],
    ["truncated strings", structure(1, [1, 2, 3, 1], ["abc"]).subarray(0, 10)],
    ["length past the end", Buffer.from([1, 200, 0, 0, 0, 0])],
    ["length below 4", Buffer.from([1, 2, 0, 0, 0, 0])],
    ["empty", Buffer.alloc(0)],
  ])("%s: none", (_name, table) => {
    expect(check("table", table).result).toBe("(none)");
  });
});

test("fuzzed blocks, serials and tables never read out of bounds", () => {
  expect(check("fuzz", "300000", "20261125").result).toBe("fuzzed 300000");
});
