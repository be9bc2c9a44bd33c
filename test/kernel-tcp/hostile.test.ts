/**
 * The kernel on a busy, hostile network (issue 11), in QEMU (TCG) in a namespace of the test's
 * own: many short connections in parallel (none may be reset to make room), a SYN flood from
 * spoofed sources while curl keeps working, ARP requests from a crowd of on-link senders while
 * a client is served, the host CPU of an idle guest, and the guest's clock when the host CPU
 * is contended at boot (the TSC calibration). Hostile frames come from host/flood.c through a
 * raw socket on the namespace's tap.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BootSoftware, buildKernel, configBlock, kernelDir } from "../helpers/kernel-image";
import { GATEWAY, stopAllGuests, TestGuest, withGuest } from "../helpers/guest";
import { clientScript, ConcurrentResult } from "../../bench/netns-client";
import { describeAsRoot } from "../helpers/privilege";
const IP = "10.0.2.15";
const URL = `http://${IP}/`;

let boot: BootSoftware;
let dir: string;
let flood: string;

beforeAll(async () => {
  boot = await buildKernel();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-hostile-"));
  flood = path.join(dir, "flood");
  execFileSync("gcc", [
    "-O1", "-Wall", "-Wextra", "-Wno-comment", "-Werror", `-I${kernelDir}`,
    path.join(__dirname, "host", "flood.c"), path.join(kernelDir, "net", "checksum.c"),
    "-o", flood,
  ]); // prettier-ignore
});
afterAll(async () => {
  await stopAllGuests();
  fs.rmSync(dir, { recursive: true, force: true });
});

function withServingGuest(body: (g: TestGuest) => Promise<void>): Promise<void> {
  return withGuest(
    boot,
    {
      block: configBlock("port=80\n\nhostile\n"),
      smbiosSerial: `exo:net=static;ip=${IP}/24;gw=${GATEWAY}`,
    },
    async (g) => {
      await g.waitFor("exo: http listening on 80");
      expect(await g.waitForEcho(IP)).toBe(true);
      await body(g);
    },
  );
}

/** `n` curls with Connection: close, `parallel` at a time: their HTTP codes (000: failed). */
async function closeCurls(g: TestGuest, n: number, parallel: number): Promise<string[]> {
  const out = await g.exec([
    "sh", "-c",
    `seq ${n} | xargs -P ${parallel} -I{} curl -s -o /dev/null --max-time 20 ` +
      `-H 'Connection: close' -w '%{http_code}\\n' ${URL}`,
  ]); // prettier-ignore
  return out.trim().split("\n");
}

/** flood.c in the guest's namespace, in the background; resolves with what it sent. */
function startFlood(g: TestGuest, kind: "syn" | "arp", count: number, perSecond: number) {
  const argv = [flood, kind, "tap0", g.mac, IP, `${count}`, `${perSecond}`];
  const child: ChildProcess = spawn("ip", ["netns", "exec", g.netns, ...argv], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const sent = new Promise<number>((resolve) => child.on("close", () => resolve(Number(out))));
  return { sent, stop: () => child.kill("SIGKILL") };
}

describeAsRoot("the kernel on a busy, hostile network", () => {
  test(
    "400 short connections, 4 at a time, and bursts of 128: none is reset",
    () =>
      withServingGuest(async (g) => {
        const codes = await closeCurls(g, 400, 4);
        expect(codes.filter((c) => c !== "200")).toEqual([]);
        expect(codes).toHaveLength(400);
        for (let i = 0; i < 2; i++) {
          const cmd = clientScript({
            op: "concurrent",
            host: IP,
            path: "/",
            count: 128,
            timeoutMs: 20_000,
          });
          const r = JSON.parse(await g.exec([process.execPath, "-e", cmd])) as ConcurrentResult;
          expect(r.errors).toEqual([]);
          expect(r.statuses.filter((s) => s !== 200)).toEqual([]);
        }
      }),
    180_000,
  );

  test(
    "a SYN flood from spoofed sources: real clients keep being served",
    () =>
      withServingGuest(async (g) => {
        const f = startFlood(g, "syn", 6_000, 2_000); // 3 s of 2000 SYNs/s
        try {
          await new Promise((r) => setTimeout(r, 1000)); // a stateful table would be full now
          const codes = await closeCurls(g, 40, 2);
          expect(codes.filter((c) => c !== "200")).toEqual([]);
          expect(await f.sent).toBe(6_000); // and the flood did run throughout
        } finally {
          f.stop();
        }
      }),
    120_000,
  );

  test(
    "ARP requests from 150 on-link senders at 100/s: every request is answered",
    () =>
      withServingGuest(async (g) => {
        const f = startFlood(g, "arp", 300, 100); // 3 s
        try {
          const codes = await closeCurls(g, 100, 2);
          expect(codes.filter((c) => c !== "200")).toEqual([]);
          expect(await f.sent).toBe(300); // and the crowd did ask throughout
        } finally {
          f.stop();
        }
      }),
    120_000,
  );

  test(
    "an idle guest costs its host almost no CPU (it halts until a frame or the tick)",
    () =>
      withServingGuest(async (g) => {
        const pid = Number(fs.readFileSync(path.join(g.dir, "qemu.pid"), "utf8"));
        const ticks = () => {
          const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
          const v = f.slice(f.lastIndexOf(")") + 2).split(" ");
          return Number(v[11]) + Number(v[12]);
        };
        const hz = Number(execFileSync("getconf", ["CLK_TCK"]).toString());
        await new Promise((r) => setTimeout(r, 1000));
        const before = ticks();
        await new Promise((r) => setTimeout(r, 10_000));
        const percent = ((ticks() - before) / hz / 10) * 100;
        expect(percent).toBeLessThan(2);
      }),
    60_000,
  );
});

/**
 * Boots with QEMU and a busy loop pinned to the same host CPU (the test pins itself first, QEMU
 * inherits it), so the vCPU is preempted while the kernel calibrates its clock; then the
 * guest's uptime (/health) must advance as fast as host time. Several boots: a calibration
 * that a preemption can skew gets some of them wrong.
 */
describeAsRoot("the guest clock when the host CPU is contended at boot", () => {
  const BOOTS = 4;
  test(`${BOOTS} boots beside a CPU hog: guest time runs at host speed`, async () => {
    const cpus = execFileSync("taskset", ["-p", `${process.pid}`])
      .toString()
      .trim()
      .split(" ")
      .pop()!;
    const rates: number[] = [];
    for (let i = 0; i < BOOTS; i++) {
      const hog = spawn("taskset", ["-c", "0", "sh", "-c", "while :; do :; done"], {
        stdio: "ignore",
      });
      execFileSync("taskset", ["-a", "-p", "-c", "0", `${process.pid}`], { stdio: "ignore" });
      try {
        await withServingGuest(async (g) => {
          execFileSync("taskset", ["-a", "-p", cpus, `${process.pid}`], { stdio: "ignore" });
          const uptime = async () => {
            const doc = JSON.parse(
              await g.exec(["curl", "-s", "--max-time", "10", `${URL}health`]),
            );
            return { guest: doc.uptime_ms as number, host: Date.now() };
          };
          const a = await uptime();
          await new Promise((r) => setTimeout(r, 3000));
          const b = await uptime();
          rates.push((b.guest - a.guest) / (b.host - a.host));
        });
      } finally {
        execFileSync("taskset", ["-a", "-p", cpus, `${process.pid}`], { stdio: "ignore" });
        hog.kill("SIGKILL");
      }
    }
    for (const r of rates) {
      expect(r).toBeGreaterThan(0.9);
      expect(r).toBeLessThan(1.1);
    }
  }, 240_000);
});
