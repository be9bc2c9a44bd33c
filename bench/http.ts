/**
 * The kernel's HTTP numbers, for `npm run bench:kernel`: QEMU start → first HTTP 200 (median of
 * 5 boots, each in a fresh network namespace, probed from before QEMU starts with a new
 * connection every 2 ms), the same from the MBR's serial marker; on the last boot: the QEMU
 * process's host CPU while the guest idles, requests per second with wrk (keep-alive with 1 and
 * 8 connections, then a new connection per request with 8), bursts of 64 and 128 simultaneous
 * new connections (requests that failed); and the least guest RAM that still serves a 200.
 * Needs root.
 */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import { promisify } from "node:util";
import { netnsCommand } from "../infra/targets/local/netns";
import {
  BOOTS,
  bootLine,
  BootTime,
  GUEST,
  Probe,
  summarize,
  TIMEOUT_MS,
  timedBoot,
} from "./common";
import { clientScript, ConcurrentResult, FirstOkResult } from "./netns-client";

const execFileAsync = promisify(execFile);

const WRK_SECONDS = 5;
const IDLE_SECONDS = 20;
const BURSTS = [64, 128] as const;
/** Tried from the top while a guest of that size still serves a 200. */
const RAM_CANDIDATES_MIB = [4, 3, 2, 1];

export interface HttpBench {
  readonly bootToHttp200Ms: number;
  readonly mbrToHttp200Ms: number | null;
  readonly http200RunsMs: number[];
  readonly reqPerSecC1: number;
  readonly reqPerSecC8: number;
  /** wrk, 8 connections, `Connection: close`: each request on a new connection. */
  readonly reqPerSecCloseC8: number;
  /** Socket errors and non-2xx replies wrk saw in that run (resets, timeouts). */
  readonly closeC8Errors: number;
  /** Requests that got no 200, out of 64 and of 128 opened at once (Connection: close). */
  readonly burst64Failed: number;
  readonly burst128Failed: number;
  /** Host CPU of the QEMU process (percent of one core) over IDLE_SECONDS of an idle guest. */
  readonly idleCpuPercent: number;
  readonly minRamMiB: number;
}

interface LastBootNumbers {
  idleCpuPercent: number;
  c1: number;
  c8: number;
  closeC8: WrkRun;
  bursts: number[];
}

/** The probe, started in `netns` before QEMU: `at` is the epoch ms of the first 200. */
function firstHttp200(netns: string): Probe {
  const script = clientScript({ op: "firstOk", host: GUEST, timeoutMs: TIMEOUT_MS });
  const [file, ...args] = netnsCommand(netns, [process.execPath, "-e", script]);
  const proc = spawn(file, args, { stdio: ["ignore", "pipe", "ignore"] });
  const at = new Promise<number>((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.on("close", () => {
      const r = out ? (JSON.parse(out) as FirstOkResult) : { at: null };
      if (r.at === null) reject(new Error(`no HTTP 200 within ${TIMEOUT_MS} ms`));
      else resolve(r.at);
    });
  });
  return { at, stop: () => proc.kill("SIGKILL") };
}

/** One boot of `disk` with `memoryMb`: times to the first 200; then `after` runs in the namespace. */
function bootToHttp200<T>(
  disk: string,
  memoryMb: number,
  after?: (netns: string, qemuPid: number) => Promise<T>,
) {
  const o = { mac: "52:54:00:be:0c:02", memoryMb, what: "HTTP 200" };
  return timedBoot(disk, o, firstHttp200, after);
}

interface WrkRun {
  readonly reqPerSec: number;
  /** Socket errors (connect, read, write, timeout) and non-2xx/3xx replies. */
  readonly errors: number;
}

/** wrk for WRK_SECONDS with `connections`; `close` sends Connection: close (a new connection
 * per request). */
async function wrk(netns: string, connections: number, close = false): Promise<WrkRun> {
  const [file, ...args] = netnsCommand(netns, [
    "wrk",
    "-t1",
    `-c${connections}`,
    `-d${WRK_SECONDS}s`,
    "--timeout",
    "2s",
    ...(close ? ["-H", "Connection: close"] : []),
    `http://${GUEST}/`,
  ]);
  const { stdout } = await execFileAsync(file, args, { timeout: (WRK_SECONDS + 30) * 1000 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`wrk printed no rate:\n${stdout}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    stdout,
  );
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const errors =
    (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0) +
    (non2xx ? Number(non2xx[1]) : 0);
  return { reqPerSec: Math.round(Number(m[1])), errors };
}

/** Keep-alive numbers must be clean: a reset or an error reply there is a bug, not a rate. */
async function wrkKeepAlive(netns: string, connections: number): Promise<number> {
  const r = await wrk(netns, connections);
  if (r.errors) throw new Error(`wrk -c${connections} (keep-alive) saw ${r.errors} errors`);
  return r.reqPerSec;
}

/** `count` connections opened at once, one GET / with Connection: close each: how many did
 * not get a 200. */
async function burst(netns: string, count: number): Promise<number> {
  const script = clientScript({
    op: "concurrent",
    host: GUEST,
    path: "/",
    count,
    timeoutMs: 20_000,
  });
  const [file, ...args] = netnsCommand(netns, [process.execPath, "-e", script]);
  const { stdout } = await execFileAsync(file, args, { timeout: 60_000 });
  const r = JSON.parse(stdout.trim().split("\n").pop()!) as ConcurrentResult;
  return r.statuses.filter((s) => s !== 200).length;
}

/** utime + stime of `pid` in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Percent of one host core the QEMU process `pid` uses while nothing talks to the guest. */
async function idleCpuPercent(pid: number): Promise<number> {
  const ticksPerSecond = Number((await execFileAsync("getconf", ["CLK_TCK"])).stdout.trim());
  const before = cpuTicks(pid);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const used = (cpuTicks(pid) - before) / ticksPerSecond;
  return Math.round((1000 * used) / IDLE_SECONDS) / 10;
}

/** What the last boot measures: idle first (the probe has stopped), then the load. */
async function lastBootNumbers(netns: string, pid: number): Promise<LastBootNumbers> {
  return {
    idleCpuPercent: await idleCpuPercent(pid),
    c1: await wrkKeepAlive(netns, 1),
    c8: await wrkKeepAlive(netns, 8),
    closeC8: await wrk(netns, 8, true),
    bursts: [await burst(netns, BURSTS[0]), await burst(netns, BURSTS[1])],
  };
}

/** All the HTTP numbers for the image at `disk`; `log` gets one line per step. */
export async function benchHttp(disk: string, log: (line: string) => void): Promise<HttpBench> {
  const runs: BootTime[] = [];
  let last: LastBootNumbers | undefined;
  for (let i = 0; i < BOOTS; i++) {
    const r = await bootToHttp200(disk, 4, i === BOOTS - 1 ? lastBootNumbers : undefined);
    runs.push(r);
    if (r.after) last = r.after;
    log(bootLine("http boot", i, "first HTTP 200", r));
  }
  const n = last!;
  log(`idle: QEMU used ${n.idleCpuPercent} % of a host core over ${IDLE_SECONDS} s`);
  log(`wrk keep-alive: ${n.c1} req/s with 1 connection, ${n.c8} with 8`);
  log(`wrk Connection: close: ${n.closeC8.reqPerSec} req/s with 8, ${n.closeC8.errors} errors`);
  log(`bursts: ${BURSTS.map((b, i) => `${n.bursts[i]} of ${b}`).join(", ")} requests failed`);
  let minRamMiB = 0;
  for (const mib of RAM_CANDIDATES_MIB) {
    try {
      await bootToHttp200(disk, mib);
      minRamMiB = mib;
      log(`ram: serves HTTP with ${mib} MiB`);
    } catch (e) {
      log(`ram: no HTTP 200 with ${mib} MiB (${(e as Error).message})`);
      break;
    }
  }
  const [bootToHttp200Ms, mbrToHttp200Ms, http200RunsMs] = summarize(runs);
  return {
    bootToHttp200Ms,
    mbrToHttp200Ms,
    http200RunsMs,
    reqPerSecC1: n.c1,
    reqPerSecC8: n.c8,
    reqPerSecCloseC8: n.closeC8.reqPerSec,
    closeC8Errors: n.closeC8.errors,
    burst64Failed: n.bursts[0],
    burst128Failed: n.bursts[1],
    idleCpuPercent: n.idleCpuPercent,
    minRamMiB,
  };
}
