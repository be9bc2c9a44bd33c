/**
 * `exoform compare` end to end: a local stack (QEMU) and a stack of the test-only loopback
 * target, both deployed through the real CLI from the same image configuration, compared: the
 * three report forms carry the numbers of the stacks' outputs, a stack on another image is
 * flagged, and the HTML page renders its charts in headless Chromium (Debian's package).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium } from "playwright-core";
import {
  createExoformProject,
  ExoformProject,
  jsonResult,
  localStackYaml,
} from "../cli/exoform-project";
import { repoRoot } from "../helpers/pulumi";

jest.setTimeout(300_000);

const CHROMIUM = "/usr/bin/chromium";
const imageYaml = (body: string) =>
  localStackYaml({ body })
    .split("\n")
    .filter((l) => !l.includes("exoform:target"))
    .join("\n");

describe("exoform compare", () => {
  let project: ExoformProject;
  beforeAll(() => {
    project = createExoformProject("compare");
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
    project.writeStack("q", localStackYaml({ body: "same\n" }));
    project.writeStack(
      "lb",
      imageYaml("same\n").replace("config:", "config:\n  exoform:target: loopback"),
    );
    project.writeStack(
      "other",
      imageYaml("other\n").replace("config:", "config:\n  exoform:target: loopback"),
    );
  });
  afterAll(async () => {
    for (const s of ["q", "lb", "other"]) await project?.exoform(["down", s, "--yes"]);
    project?.cleanup();
  });

  test("deploys, compares, writes markdown/HTML/JSON with the outputs' numbers", async () => {
    const out = path.join(project.dir, "report");
    const r = await project.exoform(["compare", "q", "lb", "--deploy", "--out", out, "--json"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const result = jsonResult(r) as unknown as {
      comparison: {
        sameImage: boolean;
        instances: { stack: string; phases: Record<string, number> }[];
      };
      files: Record<string, string>;
    };
    expect(result.comparison.sameImage).toBe(true);

    // The numbers are the stacks' outputs, not re-measured.
    const outputs = JSON.parse(
      (await project.pulumi(["stack", "output", "--json", "--stack", "q"])).stdout,
    );
    const q0 = outputs.instances[0];
    const json = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8"));
    expect(json.instances[0]).toMatchObject({ stack: "q", name: q0.name, phases: q0.phases });
    const md = fs.readFileSync(path.join(out, "report.md"), "utf8");
    expect(md).toContain(`| q/${q0.name} | ${Math.round(q0.phases.build)} |`);
    expect(md).toContain(`${q0.health.http.latency.p50Ms.toFixed(2)}`);
    expect(md).toContain("✅ every stack runs image");

    // The page renders offline in a real browser, with its four charts drawn.
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on("request", (req) => requests.push(req.url()));
      await page.goto(`file://${path.join(out, "report.html")}`);
      const charts = await page.$$eval("figure.chart svg", (svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          const drawn = [...svg.querySelectorAll("path, rect")].filter((el) => {
            const b = (el as unknown as { getBBox(): { width: number; height: number } }).getBBox();
            return b.width > 0 && b.height > 0;
          }).length;
          return { width: box.width, height: box.height, drawn };
        }),
      );
      // Phase, ICMP, HTTP and cost charts, in that order. Each data chart draws a bar per
      // instance and figure (2 instances: ≥ 4 phase segments, 3 latency bars each); the cost
      // chart's bars are zero here (local and loopback cost nothing), so only its axes show.
      expect(charts.map((c) => c.width > 100 && c.height > 50)).toEqual([true, true, true, true]);
      const [phases, icmp, http, cost] = charts.map((c) => c.drawn);
      expect(phases).toBeGreaterThanOrEqual(4);
      expect(icmp).toBeGreaterThanOrEqual(6);
      expect(http).toBeGreaterThanOrEqual(6);
      expect(cost).toBeGreaterThanOrEqual(1);
      expect(requests.filter((u) => !u.startsWith("file://"))).toEqual([]);
      const png = await page.screenshot({ fullPage: true });
      fs.writeFileSync(path.join(out, "report.png"), png);
      expect(png.length).toBeGreaterThan(20_000); // a blank page compresses to a few KB
    } finally {
      await browser.close();
    }
  });

  test("a stack on another image is flagged", async () => {
    const r = await project.exoform(["compare", "lb", "other", "--deploy", "--destroy"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /⚠️ \*\*image mismatch\*\*: lb runs `[0-9a-f]{16}`, other runs `[0-9a-f]{16}`/,
    );
    expect(r.stdout).toContain("warning: the stacks run different images");
  });

  test("fewer than two stacks is a usage error", async () => {
    const r = await project.exoform(["compare", "q"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("compare needs at least two stacks");
  });
});
