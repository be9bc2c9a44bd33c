/**
 * Kernel benchmark: size of the boot software, and time from starting QEMU (TCG, 4 MiB) to the
 * first ICMP echo reply, median of 5 boots. Each boot gets a fresh network namespace; the guest
 * is configured statically through SMBIOS, and ping (every 5 ms, timestamps from the kernel) runs
 * from before QEMU starts. Needs root.
 *
 * Then the HTTP numbers (bench/http.ts): 5 more boots to the first HTTP 200; on the last one
 * the idle host CPU, wrk (keep-alive and Connection: close) and connection bursts; least RAM.
 *
 * Prints one line per boot, then, as its last line, one JSON object:
 *   { bootSoftwareBytes, bootToIcmpMs, mbrToIcmpMs, runsMs, budgetBytes,
 *     bootToHttp200Ms, mbrToHttp200Ms, http200RunsMs, reqPerSecC1, reqPerSecC8,
 *     reqPerSecCloseC8, closeC8Errors, burst64Failed, burst128Failed, idleCpuPercent, minRamMiB }
 * mbrToIcmpMs is approximate: when "exo: mbr" showed up in the serial log (polled every ms).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  assembleRawDisk,
  buildKernel,
  configBlockFromPayload,
  defaultKernelDir,
  readBootSoftware,
} from "../image-builder";
import { parsePingLine } from "../infra/health/ping";
import { netnsCommand } from "../infra/targets/local/netns";
import { BOOTS, bootLine, BootTime, GUEST, Probe, summarize, timedBoot } from "./common";
import { benchHttp, HttpBench } from "./http";

const BOOT_SOFTWARE_BUDGET = 12 * 1024;

/** ping from inside `netns`: `at` is the epoch ms of the first echo reply from GUEST. */
function firstEchoReply(netns: string): Probe {
  const [file, ...args] = netnsCommand(netns, [
    "ping",
    "-n",
    "-D",
    "-i",
    "0.005",
    "-W",
    "1",
    GUEST,
  ]);
  const ping = spawn(file, args, { stdio: ["ignore", "pipe", "ignore"] });
  const at = new Promise<number>((resolve, reject) => {
    let buffered = "";
    ping.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const reply = buffered
        .split("\n")
        .map(parsePingLine)
        .find((l) => l.kind === "reply");
      if (reply?.kind === "reply") resolve(reply.atEpochMs);
    });
    ping.on("close", () => reject(new Error("ping exited before an echo reply")));
  });
  return { at, stop: () => ping.kill("SIGKILL") };
}

async function main() {
  const kernelDir = defaultKernelDir();
  await buildKernel(kernelDir, () => undefined);
  const boot = await readBootSoftware(kernelDir);
  const bootSoftwareBytes = boot.info.mbrBytes + boot.info.kernelBytes;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "exo-bench-disk-"));
  const disk = path.join(work, "disk.raw");
  const block = configBlockFromPayload(Buffer.from("net=dhcp\n\n"));
  fs.writeFileSync(disk, assembleRawDisk(boot, block).raw);
  const runs: BootTime[] = [];
  let http: HttpBench;
  try {
    for (let i = 0; i < BOOTS; i++) {
      const r = await timedBoot(
        disk,
        { mac: "52:54:00:be:0c:01", what: "echo reply" },
        firstEchoReply,
      );
      runs.push(r);
      console.log(bootLine("boot", i, "first echo reply", r));
    }
    http = await benchHttp(disk, console.log);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const [bootToIcmpMs, mbrToIcmpMs, runsMs] = summarize(runs);
  console.log(
    JSON.stringify({
      bootSoftwareBytes,
      bootToIcmpMs,
      mbrToIcmpMs,
      runsMs,
      budgetBytes: BOOT_SOFTWARE_BUDGET,
      ...http,
    }),
  );
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
