/**
 * The C network stack built for Linux (kernel/host): the unit tests (every TCP state×event
 * cell, the HTTP parser, ARP/IPv4/ICMP, the DHCP client on a fake clock), then a bounded
 * libFuzzer run of arbitrary frames through the whole stack under ASan + UBSan. `npm run fuzz`
 * runs the same fuzzer longer.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { kernelDir } from "../helpers/kernel-image";

const run = promisify(execFile);
const hostDir = path.join(kernelDir, "host");
const FUZZ_SECONDS = 30;

/** make in kernel/host; on failure the error carries everything it printed. */
async function make(args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run("make", ["-s", "-C", hostDir, ...args], { maxBuffer: 64 << 20 });
  } catch (e) {
    const { stdout = "", stderr = "" } = e as { stdout?: string; stderr?: string };
    throw new Error(`make ${args.join(" ")} failed:\n${stdout}\n${stderr.slice(-8000)}`);
  }
}

test("unit tests: every TCP state×event cell, the HTTP parser, ARP/IPv4/ICMP, DHCP", async () => {
  const { stdout } = await make(["test"]);
  for (const suite of ["tcp", "http", "ipv4", "dhcp"]) {
    expect(stdout).toMatch(new RegExp(`^${suite}: [1-9]\\d* passed, 0 failed$`, "m"));
  }
}, 300_000);

test(`fuzzing the whole stack for ${FUZZ_SECONDS} s finds no crash and no sanitizer report`, async () => {
  const { stderr } = await make(["fuzz", `FUZZ_SECONDS=${FUZZ_SECONDS}`]);
  const runs = /Done (\d+) runs/.exec(stderr);
  expect(runs).not.toBeNull();
  expect(Number(runs![1])).toBeGreaterThan(10_000);
  expect(stderr).not.toMatch(/ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)/);
}, 300_000);
