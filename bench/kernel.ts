/**
 * Kernel benchmark: size of the boot software, and time from starting QEMU (TCG, 4 MiB) to the
 * first ICMP echo reply, median of 5 boots. Each boot gets a fresh network namespace; the guest
 * is configured statically through SMBIOS, and ping (every 5 ms, timestamps from the kernel) runs
 * from before QEMU starts. Needs root.
 *
 * Then the HTTP numbers (bench/http.ts): 5 more boots to the first HTTP 200, wrk, least RAM.
 *
 * Prints one line per boot, then, as its last line, one JSON object:
 *   { bootSoftwareBytes, bootToIcmpMs, mbrToIcmpMs, runsMs, budgetBytes,
 *     bootToHttp200Ms, mbrToHttp200Ms, http200RunsMs, reqPerSecC1, reqPerSecC8, minRamMiB }
 * mbrToIcmpMs is approximate: when "exo: mbr" showed up in the serial log (polled every ms).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createNetns, netnsCommand } from "../infra/local/netns";
import { launchQemu } from "../infra/local/qemu";
import {
  assembleRawDisk,
  buildKernel,
  configBlockFromPayload,
  defaultKernelDir,
  readBootSoftware,
} from "../image-builder";
import { benchBoot, endBenchBoot, median, serialMarkerTime } from "./common";
import { benchHttp, HttpBench } from "./http";

const BOOTS = 5;
const GUEST = "10.0.2.15";
const HOST_CIDR = "10.0.2.2/24";
const TIMEOUT_MS = 20_000;
const BOOT_SOFTWARE_BUDGET = 12 * 1024;

/** Epoch ms of the first echo reply from GUEST, pinging from inside `netns`. */
function firstEchoReply(netns: string): { reply: Promise<number>; stop: () => void } {
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
  const reply = new Promise<number>((resolve, reject) => {
    let buffered = "";
    ping.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const m = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(buffered);
      if (m) resolve(Number(m[1]) * 1000);
    });
    ping.on("close", () => reject(new Error("ping exited before an echo reply")));
  });
  return { reply, stop: () => ping.kill("SIGKILL") };
}

async function bootOnce(disk: string): Promise<{ icmpMs: number; mbrToIcmpMs?: number }> {
  const b = benchBoot(disk);
  const { netns, dir, files } = b;
  let pinger: ReturnType<typeof firstEchoReply> | undefined;
  try {
    await createNetns({ name: netns, dir, hostCidr: HOST_CIDR });
    pinger = firstEchoReply(netns);
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no echo reply within ${TIMEOUT_MS} ms`)), TIMEOUT_MS),
    );
    const startedAt = Date.now();
    const launched = launchQemu({
      ...files,
      netns,
      net: { kind: "tap", mac: "52:54:00:be:0c:01" },
      smbiosSerial: `exo:net=static;ip=${GUEST}/24;gw=${HOST_CIDR.split("/")[0]}`,
    });
    const replyAt = Promise.race([pinger.reply, timeout]);
    const mbrAt = serialMarkerTime(files.serialLog, "exo: mbr", replyAt);
    await launched;
    const reply = await replyAt;
    const mbr = await mbrAt;
    return { icmpMs: reply - startedAt, mbrToIcmpMs: mbr === undefined ? undefined : reply - mbr };
  } finally {
    pinger?.stop();
    await endBenchBoot(b);
  }
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
  const runs: { icmpMs: number; mbrToIcmpMs?: number }[] = [];
  let http: HttpBench;
  try {
    for (let i = 0; i < BOOTS; i++) {
      const r = await bootOnce(disk);
      runs.push(r);
      console.log(
        `boot ${i + 1}: first echo reply ${r.icmpMs.toFixed(1)} ms after QEMU started` +
          (r.mbrToIcmpMs === undefined
            ? ""
            : `, ~${r.mbrToIcmpMs.toFixed(1)} ms after the MBR ran`),
      );
    }
    http = await benchHttp(disk, console.log);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const mbrTimes = runs.flatMap((r) => (r.mbrToIcmpMs === undefined ? [] : [r.mbrToIcmpMs]));
  console.log(
    JSON.stringify({
      bootSoftwareBytes,
      bootToIcmpMs: Math.round(median(runs.map((r) => r.icmpMs))),
      mbrToIcmpMs: mbrTimes.length ? Math.round(median(mbrTimes)) : null,
      runsMs: runs.map((r) => Math.round(r.icmpMs)),
      budgetBytes: BOOT_SOFTWARE_BUDGET,
      ...http,
    }),
  );
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
