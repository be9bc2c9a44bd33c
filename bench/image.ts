/**
 * `npm run bench:image`: how long a warm image build takes (the kernel already built, so
 * `make` has nothing to do), how big the artefacts are, and whether two builds in different
 * directories are bit-identical. The last line is one JSON object for CI:
 * {"buildMsWarm", "rawBytes", "vmdkBytes", "gzBytes", "reproducible"}; the goal is
 * buildMsWarm ≤ 2000.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildImage, BuildResult, parseImageConfig } from "../image-builder";
import { median } from "./common";

const WARM_RUNS = 5;
const config = parseImageConfig({});

async function timedBuild(outDir: string): Promise<{ ms: number; result: BuildResult }> {
  const started = process.hrtime.bigint();
  const result = await buildImage({ config, outDir });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
}

function sameBytes(a: string, b: string): boolean {
  return fs.readFileSync(a).equals(fs.readFileSync(b));
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-bench-image-"));
  try {
    const cold = await timedBuild(path.join(root, "cold")); // builds the kernel if it is stale
    console.log(`first build (kernel possibly compiled): ${cold.ms.toFixed(0)} ms`);

    const warm: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++)
      warm.push((await timedBuild(path.join(root, `warm-${i}`))).ms);
    warm.sort((a, b) => a - b);
    const buildMsWarm = Math.round(median(warm));
    console.log(
      `warm builds: ${warm.map((ms) => ms.toFixed(0)).join(", ")} ms (median ${buildMsWarm})`,
    );

    const a = (await timedBuild(path.join(root, "repro-a"))).result;
    await new Promise((r) => setTimeout(r, 1100)); // a different second
    const b = (await timedBuild(path.join(root, "repro-b"))).result;
    const reproducible =
      a.imageId === b.imageId &&
      (["raw", "vmdk", "gz"] as const).every((k) => sameBytes(a[k].path, b[k].path)) &&
      sameBytes(a.manifestPath, b.manifestPath);
    console.log(`image ${a.imageId}: two builds ${reproducible ? "bit-identical" : "DIFFER"}`);

    console.log(
      JSON.stringify({
        buildMsWarm,
        rawBytes: a.raw.bytes,
        vmdkBytes: a.vmdk.bytes,
        gzBytes: a.gz.bytes,
        reproducible,
      }),
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench:image: ${e.message}`);
  process.exit(1);
});
