/**
 * The pure pieces of issue 10's crash safety: stack-name rules, secret masking, the scrubbed
 * child environment, the stack file checks with line numbers, and the safe removal of a stack's
 * working directory.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readStackFile } from "../../cli/stack-file";
import { isEngineHelper } from "../../cli/processes";
import { addSecret, addSecretConfigValue, maskSecrets, MASK } from "../../cli/secrets";
import { removeStackStateDir } from "../../infra/state-dir";
import { stackNameProblem } from "../../infra/stack-name";
import { scrubbedEnv } from "../../lib/child-env";

describe("stack names", () => {
  test("Pulumi's rules, and no name of dots only", () => {
    for (const ok of ["local", "e2e", "a.b-c_d", "x".repeat(100), ".hidden", "a.."])
      expect({ ok, problem: stackNameProblem(ok) }).toEqual({ ok, problem: undefined });
    expect(stackNameProblem("")).toMatch(/may not be empty/);
    expect(stackNameProblem("x".repeat(101))).toMatch(/cannot exceed 100/);
    expect(stackNameProblem("../..")).toMatch(/invalid character "\/" at position 2/);
    expect(stackNameProblem("a b")).toMatch(/invalid character " " at position 1/);
    expect(stackNameProblem("..")).toMatch(/periods only/);
    expect(stackNameProblem(".")).toMatch(/periods only/);
  });

  test("removing a working directory never leaves .exoform/stacks/<stack>/", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-names-"));
    try {
      fs.mkdirSync(path.join(dir, ".exoform", "stacks", "a"), { recursive: true });
      fs.writeFileSync(path.join(dir, ".exoform", "keep"), "");
      expect(() => removeStackStateDir(dir, "..")).toThrow(/periods only/);
      expect(() => removeStackStateDir(dir, "../..")).toThrow(/invalid character/);
      expect(removeStackStateDir(dir, "b")).toBeUndefined();
      expect(removeStackStateDir(dir, "a")).toBe(path.join(dir, ".exoform", "stacks", "a"));
      expect(fs.existsSync(path.join(dir, ".exoform", "keep"))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("secrets", () => {
  test("every known secret is masked, also inside JSON text", () => {
    addSecret('s3cr"et-value');
    const text = `bad value "s3cr\\"et-value" and s3cr"et-value`;
    expect(maskSecrets(text)).toBe(`bad value "${MASK}" and ${MASK}`);
    expect(maskSecrets("nothing here")).toBe("nothing here");
  });

  test("a secret set with --path: the leaf a message quotes is masked, not only the whole object", () => {
    // Pulumi marks the whole top-level key secret and hands its JSON text.
    addSecretConfigValue(JSON.stringify({ hostname: "TOPSECRET_hunter2 !!", http: { port: 80 } }));
    expect(
      maskSecrets('exoform:image.hostname: must be 1-63 characters (got "TOPSECRET_hunter2 !!")'),
    ).toBe(`exoform:image.hostname: must be 1-63 characters (got "${MASK}")`);
  });

  test("children get the allow-listed environment only", () => {
    const env = scrubbedEnv({
      PATH: "/bin",
      HOME: "/root",
      PULUMI_CONFIG_PASSPHRASE: "p",
      DIGITALOCEAN_TOKEN: "t",
      EXOFORM_RUN: "1-2",
    });
    expect(env).toEqual({ PATH: "/bin", HOME: "/root" });
  });
});

describe("engine helpers", () => {
  test("only the engine's own processes are killed by run tag", () => {
    const helpers = [
      ["pulumi", "up", "--yes"],
      ["/opt/pulumi/bin/pulumi-language-nodejs", "127.0.0.1:4000"],
      ["node", "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js", "127.0.0.1:1"],
      ["node", "/p/node_modules/@pulumi/pulumi/cmd/run/index.js", "--monitor", "x"],
      ["/home/u/.pulumi/plugins/resource-x/pulumi-resource-digitalocean"],
    ];
    for (const argv of helpers)
      expect({ argv, helper: isEngineHelper(argv) }).toMatchObject({ helper: true });
    for (const argv of [
      ["node", "-e", "server()"],
      ["qemu-system-x86_64", "-pidfile", "x"],
      ["dnsmasq"],
    ])
      expect({ argv, helper: isEngineHelper(argv) }).toMatchObject({ helper: false });
  });
});

describe("stack files", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-stackfile-"));
    fs.mkdirSync(path.join(dir, "stacks"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => fs.writeFileSync(path.join(dir, "stacks", "Pulumi.s.yaml"), text);

  test("missing: undefined; valid: the flat config Pulumi would pass, secure keys listed", () => {
    expect(readStackFile(dir, "s")).toBeUndefined();
    write(
      "config:\n  exoform:target: local\n  exoform:instances: 2\n  exoform:image:\n    hostname: h\n  digitalocean:token:\n    secure: v1:abc\n  exoform:local:\n    nested:\n      secure: v1:def\nencryptionsalt: v1:x\n",
    );
    const file = readStackFile(dir, "s")!;
    expect(file.flat).toEqual({
      "exoform:target": "local",
      "exoform:instances": "2",
      "exoform:image": '{"hostname":"h"}',
    });
    expect(file.secureKeys).toEqual(["digitalocean:token", "exoform:local"]);
    expect(file.encryptionSalt).toBe("v1:x");
  });

  test("each kind of broken file names the file and the line", () => {
    write("config:\n  exoform:target: local\nconfigg:\n  x: 1\n");
    expect(() => readStackFile(dir, "s")).toThrow(
      /^stacks\/Pulumi\.s\.yaml: line 3: unknown top-level key "configg" \(did you mean config\?\)/,
    );
    write("config:\n  exoform:target: local\n  exoform:target: local\n");
    expect(() => readStackFile(dir, "s")).toThrow(/line \d: YAML syntax error: .*unique/i);
    write("- a\n- b\n");
    expect(() => readStackFile(dir, "s")).toThrow(/line 1: a stack file must be a mapping/);
    write("config:\n  exoform:target: local\n  exoform:instances: 9\n");
    expect(() => readStackFile(dir, "s")).toThrow(/\n {2}line 3: exoform:instances: Too big/);
    expect(readStackFile(dir, "s", false)).toBeDefined();
  });
});
