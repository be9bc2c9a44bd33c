/**
 * The targets seam, for real: a test-only target (fixtures/loopback-target.js), registered
 * through EXOFORM_TARGET_MODULES without touching a shared file, deploys through `exoform` and
 * the real Pulumi CLI: config validated by its own schema, outputs in the shared contract,
 * health-checked by the shared module, progress in its own words, checked and destroyed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createExoformProject, ExoformProject, jsonResult } from "../cli/exoform-project";
import { repoRoot } from "../helpers/pulumi";

jest.setTimeout(180_000);

/** Whether `pid` runs (a killed process not yet reaped, a zombie, does not). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

describe("a target registered from outside the shared files", () => {
  let project: ExoformProject;
  beforeAll(() => {
    project = createExoformProject("seam");
    Object.assign(project.env, {
      EXOFORM_TARGET_MODULES: path.join(
        repoRoot,
        "test",
        "infra",
        "fixtures",
        "loopback-target.js",
      ),
      EXOFORM_REPO: repoRoot,
    });
  });
  afterAll(async () => {
    await project?.exoform(["down", "lb", "--yes"]);
    project?.cleanup();
  });

  test("deploys, is checked and listed, and is destroyed through the real CLI", async () => {
    project.writeStack(
      "lb",
      `config:
  exoform:target: loopback
  exoform:instances: 2
  exoform:loopback:
    greeting: hi
  exoform:health:
    deadlineSeconds: 20
    pingCount: 2
    httpCount: 2`,
    );
    const up = await project.exoform(["up", "lb", "--json", "--yes"]);
    expect({ code: up.code, stderr: up.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const outputs = jsonResult(up).outputs as {
      target: string;
      imageId: string;
      instances: {
        name: string;
        health: { healthy: boolean };
        phases: { build: number };
        extras: { pid: number };
      }[];
    };
    expect(outputs.target).toBe("loopback");
    expect(outputs.instances.map((i) => i.name)).toEqual(["lb-0", "lb-1"]);
    expect(outputs.instances.every((i) => i.health.healthy)).toBe(true);
    expect(outputs.instances[0].phases.build).toBeGreaterThanOrEqual(0);
    // Progress in the target's own words and the program's build events, over the channel.
    const events = up.stdout.split("\n").filter((l) => l.includes('"type":"event"'));
    expect(events.some((l) => l.includes("srv-0 serving"))).toBe(true);
    expect(events.some((l) => l.includes('"phase":"image"'))).toBe(true);
    expect(events.some((l) => l.includes('"phase":"health"') && l.includes("healthy"))).toBe(true);

    const check = await project.exoform(["check", "lb"]);
    expect(check.code).toBe(0);
    const status = await project.exoform(["status"]);
    expect(status.stdout).toMatch(/lb: loopback, 2 instance\(s\)/);
    expect(status.stdout).toMatch(/lb-1 .* running/);

    const down = await project.exoform(["down", "lb", "--yes"]);
    expect(down.code).toBe(0);
    for (const i of outputs.instances) expect(alive(i.extras.pid)).toBe(false);
  });

  test("its settings are validated by its own schema", async () => {
    project.writeStack(
      "bad",
      "config:\n  exoform:target: loopback\n  exoform:loopback:\n    greting: hi",
    );
    const r = await project.exoform(["up", "bad", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("exoform:loopback.greting: unknown setting");
  });

  test("settings of another target in a stack fail with exit 2 naming the key", async () => {
    project.writeStack(
      "mixed",
      "config:\n  exoform:target: loopback\n  exoform:local:\n    accel: tcg",
    );
    const r = await project.exoform(["up", "mixed", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /exoform:local: settings of the local target, but exoform:target is "loopback"/,
    );
  });
});
