/**
 * The kernel's HTTP numbers, for `npm run bench:kernel`: QEMU start → first HTTP 200 (median of
 * 5 boots, each in a fresh network namespace, probed from before QEMU starts with a new
 * connection every 2 ms), the same from the MBR's serial marker, requests per second with wrk
 * (keep-alive, 1 and 8 connections, bounded runs), and the least guest RAM that still serves a
 * 200. Needs root.
 */
import { execFile, spawn } from "node:child_process";
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
import { clientScript, FirstOkResult } from "./netns-client";

const execFileAsync = promisify(execFile);

const WRK_SECONDS = 5;
/** Tried from the top while a guest of that size still serves a 200. */
const RAM_CANDIDATES_MIB = [4, 3, 2, 1];

export interface HttpBench {
  readonly bootToHttp200Ms: number;
  readonly mbrToHttp200Ms: number | null;
  readonly http200RunsMs: number[];
  readonly reqPerSecC1: number;
  readonly reqPerSecC8: number;
  readonly minRamMiB: number;
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
function bootToHttp200<T>(disk: string, memoryMb: number, after?: (netns: string) => Promise<T>) {
  const o = { mac: "52:54:00:be:0c:02", memoryMb, what: "HTTP 200" };
  return timedBoot(disk, o, firstHttp200, after);
}

/** wrk for WRK_SECONDS on a keep-alive connection pool of `connections`: requests per second. */
async function wrk(netns: string, connections: number): Promise<number> {
  const [file, ...args] = netnsCommand(netns, [
    "wrk",
    "-t1",
    `-c${connections}`,
    `-d${WRK_SECONDS}s`,
    "--timeout",
    "2s",
    `http://${GUEST}/`,
  ]);
  const { stdout } = await execFileAsync(file, args, { timeout: (WRK_SECONDS + 30) * 1000 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`wrk printed no rate:\n${stdout}`);
  if (/Non-2xx or 3xx responses|Socket errors/.test(stdout))
    throw new Error(`wrk saw errors:\n${stdout}`);
  return Math.round(Number(m[1]));
}

/** All the HTTP numbers for the image at `disk`; `log` gets one line per step. */
export async function benchHttp(disk: string, log: (line: string) => void): Promise<HttpBench> {
  const runs: BootTime[] = [];
  let rates: [number, number] | undefined;
  for (let i = 0; i < BOOTS; i++) {
    const last = i === BOOTS - 1;
    const r = await bootToHttp200(
      disk,
      4,
      last ? async (ns) => [await wrk(ns, 1), await wrk(ns, 8)] : undefined,
    );
    runs.push(r);
    if (r.after) rates = r.after as [number, number];
    log(bootLine("http boot", i, "first HTTP 200", r));
  }
  log(`wrk keep-alive: ${rates![0]} req/s with 1 connection, ${rates![1]} with 8`);
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
    reqPerSecC1: rates![0],
    reqPerSecC8: rates![1],
    minRamMiB,
  };
}
