/**
 * The whole toolchain for real: the Pulumi CLI built from Go modules, its Node.js language
 * host, the dynamic-provider helper script and @pulumi/pulumi on Node >= 22, on a file backend.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createPulumiProject, PulumiProject, run } from "../helpers/pulumi";

// A dynamic resource that writes a file on create and removes it on delete.
const program = `
const pulumi = require("@pulumi/pulumi");
const fileProvider = {
  async create(inputs) {
    require("fs").writeFileSync(inputs.path, inputs.content);
    return { id: inputs.path, outs: inputs };
  },
  async delete(id) {
    require("fs").rmSync(id, { force: true });
  },
};
class TouchedFile extends pulumi.dynamic.Resource {
  constructor(name, args, opts) {
    super(fileProvider, name, args, opts);
  }
}
const cfg = new pulumi.Config();
const f = new TouchedFile("marker", { path: cfg.require("path"), content: "exoform toolchain\\n" });
exports.path = f.id;
`;

describe("toolchain: real Pulumi CLI on a file backend", () => {
  let project: PulumiProject;
  let marker: string;

  beforeAll(async () => {
    project = await createPulumiProject({ name: "toolchain-e2e", programJs: program });
    marker = path.join(project.dir, "marker.txt");
    await project.pulumiOk(["config", "set", "path", marker]);
  });
  afterAll(async () => {
    if (project) {
      await project.pulumi(["destroy", "--yes", "--skip-preview"]);
      project.cleanup();
    }
  });

  test("pulumi version is the pinned one", async () => {
    const pinned = fs
      .readFileSync(path.join(__dirname, "../../scripts/pulumi-version"), "utf8")
      .trim();
    const r = await run("pulumi", ["version"], { env: project.env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`v${pinned}`);
  });

  test("preview plans one create and touches nothing", async () => {
    const r = await project.pulumiOk(["preview", "--json"]);
    const steps = JSON.parse(r.stdout).steps as { op: string; urn: string }[];
    const created = steps.filter((s) => s.op === "create").map((s) => s.urn.split("::").pop());
    expect(created.sort()).toEqual(["marker", "toolchain-e2e-test"]);
    expect(fs.existsSync(marker)).toBe(false);
  });

  test("up creates the file, a second up changes nothing, destroy removes it", async () => {
    await project.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(fs.readFileSync(marker, "utf8")).toBe("exoform toolchain\n");
    const out = await project.pulumiOk(["stack", "output", "path"]);
    expect(out.stdout.trim()).toBe(marker);

    // --expect-no-changes makes the CLI itself fail if the second run would change anything.
    await project.pulumiOk(["up", "--yes", "--expect-no-changes"]);

    await project.pulumiOk(["destroy", "--yes", "--skip-preview"]);
    expect(fs.existsSync(marker)).toBe(false);
    const state = await project.pulumiOk(["stack", "export"]);
    expect(JSON.parse(state.stdout).deployment.resources ?? []).toHaveLength(0);
  });
});
