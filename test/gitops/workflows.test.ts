/**
 * The GitOps workflows (.github/workflows/) pass actionlint (built from its Go module by the
 * bootstrap), and actionlint really checks: a broken copy is refused. The properties the
 * pipeline promises are asserted on the parsed files: a per-stack concurrency group that never
 * cancels an update, production behind an environment, per-PR stacks destroyed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../helpers/pulumi";

const workflows = path.join(repoRoot, ".github", "workflows");

function actionlint(dir: string) {
  return spawnSync("actionlint", ["-no-color"], { cwd: dir, encoding: "utf8" });
}

test("every workflow passes actionlint", () => {
  const r = actionlint(repoRoot);
  if (r.error)
    throw new Error(`actionlint is not installed (run npm run bootstrap): ${r.error.message}`);
  expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: "" });
});

test("actionlint refuses a broken workflow (the check can fail)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-actionlint-"));
  try {
    execFileSync("git", ["init", "-q", dir]);
    fs.cpSync(path.join(repoRoot, ".github"), path.join(dir, ".github"), { recursive: true });
    const deploy = path.join(dir, ".github", "workflows", "deploy.yml");
    fs.writeFileSync(
      deploy,
      fs.readFileSync(deploy, "utf8").replace("needs: stacks", "needs: stackz"),
    );
    const r = actionlint(dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/stackz/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("updates of one stack never overlap, production needs its environment, PR stacks are destroyed", () => {
  const load = (f: string) => parse(fs.readFileSync(path.join(workflows, f), "utf8"));
  const up = load("deploy.yml").jobs.up;
  expect(up.concurrency).toEqual({
    group: "stack-${{ matrix.stack }}",
    "cancel-in-progress": false,
  });
  expect(up.environment).toContain("'production'");
  expect(load("check.yml").jobs.check.concurrency.group).toBe("stack-${{ matrix.stack }}");
  const compare = load("preview.yml").jobs.compare.steps.map((s: { run?: string }) => s.run ?? "");
  expect(compare.join("\n")).toMatch(/exoform compare .*--deploy --destroy/);
  expect(load("cleanup.yml").on.pull_request.types).toEqual(["closed"]);
  // Preview and cleanup of one PR never run at once, and neither is cancelled midway.
  const previewGroup = load("preview.yml").concurrency;
  expect(previewGroup).toEqual({
    group: "preview-${{ github.event.pull_request.number }}",
    "cancel-in-progress": false,
  });
  expect(load("cleanup.yml").jobs.destroy.concurrency).toEqual(previewGroup);
  // Pull requests deploy copies of non-production stacks only.
  expect(load("preview.yml").jobs.compare.env.STACKS).toContain("outputs.compare");
});
