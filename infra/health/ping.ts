/**
 * ICMP through the system `ping` (iputils: it has cap_net_raw, Node has no ICMP). Output parsing
 * is pure and unit-tested; the two runners spawn ping in the caller's network namespace.
 */
import { spawn } from "node:child_process";
import { distribution } from "../../lib/stats";
import { scrubbedEnv } from "../../lib/child-env";
import type { PingStats } from "./schema";

export type { PingStats };

/** Reads the summary lines of iputils ping ("N packets transmitted, M received", "rtt ..."). */
export function parsePingSummary(output: string): PingStats | undefined {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  if (!counts) return undefined;
  const sent = Number(counts[1]);
  const received = Number(counts[2]);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/[\d.]+ ms/.exec(output);
  return {
    sent,
    received,
    lossPercent: sent === 0 ? 100 : Math.round(((sent - received) / sent) * 1000) / 10,
    ...(rtt && {
      rttMinMs: Number(rtt[1]),
      rttAvgMs: Number(rtt[2]),
      rttMaxMs: Number(rtt[3]),
    }),
  };
}

/** One line of `ping -D` output: a reply (with its receive time) or an error worth reporting. */
export type PingLine =
  | { readonly kind: "reply"; readonly atEpochMs: number; readonly rttMs: number }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "other" };

export function parsePingLine(line: string): PingLine {
  const reply = /^\[(\d+\.\d+)\] \d+ bytes from [^:]+: .*time=([\d.]+) ms/.exec(line);
  if (reply) {
    return { kind: "reply", atEpochMs: Number(reply[1]) * 1000, rttMs: Number(reply[2]) };
  }
  const err = /^(?:\[\d+\.\d+\] )?(From .*|ping: .*|no answer yet .*)$/.exec(line.trim());
  if (err) return { kind: "error", message: err[1] };
  return { kind: "other" };
}

/**
 * Pings `address` every 200 ms until the first echo reply or the deadline. Returns the epoch ms
 * at which the reply arrived (ping's own -D timestamp), or throws with the last error seen.
 */
export function waitForFirstEcho(
  address: string,
  deadlineEpochMs: number,
  onAttemptError: (message: string) => void = () => undefined,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let lastError = `no echo reply from ${address}`;
    let settled = false;
    let child: ReturnType<typeof spawn> | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child?.kill("SIGKILL");
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(lastError))),
      Math.max(0, deadlineEpochMs - Date.now()),
    );
    const start = () => {
      if (settled) return;
      // -O reports every request that got no answer, so a silent guest shows up as an error.
      child = spawn("ping", ["-n", "-D", "-O", "-i", "0.2", "-W", "1", address], {
        stdio: ["ignore", "pipe", "pipe"],
        env: scrubbedEnv(),
      });
      let buffered = "";
      const onData = (d: Buffer) => {
        buffered += d.toString();
        let nl;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const parsed = parsePingLine(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
          if (parsed.kind === "reply") return finish(() => resolve(parsed.atEpochMs));
          if (parsed.kind === "error" && parsed.message !== lastError) {
            lastError = parsed.message;
            onAttemptError(lastError);
          }
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.on("error", (e) => finish(() => reject(new Error(`cannot run ping: ${e.message}`))));
      // ping exits on errors such as "Network is unreachable": try again shortly.
      child.on("close", () => setTimeout(start, 200));
    };
    start();
  });
}

/**
 * Sends `count` echo requests 200 ms apart and returns loss and round-trip statistics, with
 * the per-reply round-trip times summarized (p50, p95).
 */
export function measurePing(address: string, count: number): Promise<PingStats> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "ping",
      ["-n", "-D", "-c", String(count), "-i", "0.2", "-W", "1", address],
      { stdio: ["ignore", "pipe", "pipe"], env: scrubbedEnv() },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", (e) => reject(new Error(`cannot run ping: ${e.message}`)));
    child.on("close", () => {
      const stats = parsePingSummary(output);
      if (!stats) return reject(new Error(`ping ${address}: ${output.trim() || "no output"}`));
      const rtts = output
        .split("\n")
        .map(parsePingLine)
        .flatMap((l) => (l.kind === "reply" ? [l.rttMs] : []));
      const rtt = distribution(rtts);
      resolve(rtt ? { ...stats, rtt } : stats);
    });
  });
}
