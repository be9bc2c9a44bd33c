/**
 * What the emulator's end-to-end tests share: the prerequisite check (root, ip, qemu, dnsmasq,
 * nft, curl; under CI=true a missing one FAILS the suite instead of skipping it), the one network
 * namespace a test runs everything in, a static file server inside it (to serve images by URL,
 * with `/private/…` answering 403 like a private Spaces object), and `pulumi` run inside it with
 * the emulated plugin installed in the project's own PULUMI_HOME.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { removeNetns } from "../../../infra/targets/local/netns";
import type { RunResult } from "../../helpers/pulumi";
import { describeUnless } from "../../helpers/privilege";

const TOOLS = ["ip", "qemu-system-x86_64", "dnsmasq", "nft", "curl", "ping"];

/** Why the privileged end-to-end tests cannot run here, or undefined when they can. */
export function missingPrerequisites(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (network namespaces, bridges, nftables)");
  for (const t of TOOLS) {
    try {
      execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" });
    } catch {
      missing.push(t);
    }
  }
  return missing.length ? `missing: ${missing.join(", ")}` : undefined;
}

/**
 * `describe` when the prerequisites are there. Otherwise: under CI=true a suite whose one test
 * fails with the reason; elsewhere a skipped suite (reported as skipped, never as passed).
 */
export function describePrivileged(name: string, body: () => void): void {
  describeUnless(missingPrerequisites(), name, body);
}

/**
 * A reaper for a namespace: a detached shell that waits for this (jest) process to end and then
 * kills whatever runs in the namespace and deletes it, for when afterAll never runs (Ctrl-C,
 * SIGKILL). Signal or exit handlers cannot do it: jest gives test code a copy of `process`
 * whose handlers the real process never calls. {@link TestNamespace.remove} stops the reaper.
 */
function startReaper(ns: TestNamespace): number {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
for p in $(ip netns pids ${ns.name}); do kill -9 "$p"; done
ip netns del ${ns.name}
[ -f '${ns.dir}.paths' ] && xargs -r -d '\\n' rm -rf < '${ns.dir}.paths'
rm -rf '${ns.dir}' '${ns.dir}.paths'`;
  const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  child.unref();
  return child.pid!;
}

/** A network namespace of the test's own, with loopback up. */
export class TestNamespace {
  readonly name = `exo-do-${randomBytes(4).toString("hex")}`;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-do-ns-"));

  private reaper = 0;

  static create(): TestNamespace {
    const ns = new TestNamespace();
    execFileSync("ip", ["netns", "add", ns.name]);
    ns.reaper = startReaper(ns);
    execFileSync("ip", ["-n", ns.name, "link", "set", "lo", "up"]);
    return ns;
  }

  /** Also deletes `dir` (a test project, say) if the test process dies before afterAll. */
  removeOnAbort(dir: string): void {
    fs.appendFileSync(`${this.dir}.paths`, `${dir}\n`);
  }

  argv(argv: readonly string[]): string[] {
    return ["ip", "netns", "exec", this.name, ...argv];
  }

  /**
   * Runs a command inside; never throws on a non-zero exit. Nothing is written to its stdin (a
   * write to a command that has exited fails with EPIPE).
   */
  exec(
    argv: readonly string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ): Promise<RunResult> {
    const [file, ...args] = this.argv(argv);
    return new Promise((resolve) => {
      const options = { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 << 20 };
      execFile(file, args, options, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** `curl` inside the namespace: the body, or undefined when the request failed. */
  async get(url: string, timeoutSeconds = 2): Promise<string | undefined> {
    const r = await this.exec(["curl", "-sf", "--max-time", String(timeoutSeconds), url]);
    return r.code === 0 ? r.stdout : undefined;
  }

  /** Kills whatever still runs inside (QEMU, dnsmasq, servers) and deletes the namespace. */
  async remove(): Promise<void> {
    await removeNetns({ name: this.name, dir: this.dir });
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (this.reaper && commandOf(this.reaper).includes(this.name)) process.kill(this.reaper);
    fs.rmSync(`${this.dir}.paths`, { force: true });
  }

  /** Names of the links inside (bridges and taps the emulator made). */
  links(): string[] {
    try {
      return execFileSync("ip", ["-n", this.name, "-o", "link", "show"], { encoding: "utf8" })
        .split("\n")
        .map((l) => l.split(":")[1]?.trim().split("@")[0])
        .filter((l): l is string => !!l && l !== "lo");
    } catch {
      return [];
    }
  }

  /** Pids of the processes inside the namespace. */
  pids(): number[] {
    try {
      return execFileSync("ip", ["netns", "pids", this.name], { encoding: "utf8" })
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  }
}

/** The command line of `pid`, or "" once it has gone. */
export function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

const FILE_SERVER = `
const http = require("http"), fs = require("fs"), path = require("path");
const [root, port] = process.argv.slice(2);
http.createServer((req, res) => {
  const u = new URL(req.url, "http://x");
  if (u.pathname.startsWith("/private/")) { res.writeHead(403); return res.end("AccessDenied"); }
  const f = path.join(root, path.normalize(u.pathname));
  if (!f.startsWith(root) || !fs.existsSync(f) || !fs.statSync(f).isFile()) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { "content-length": fs.statSync(f).size });
  if (req.method === "HEAD") return res.end();
  fs.createReadStream(f).pipe(res);
}).listen(Number(port), "127.0.0.1", () => console.log("ready"));
`;

/** A static file server on 127.0.0.1:`port` inside `ns`, serving `root`. */
export async function startFileServer(
  ns: TestNamespace,
  root: string,
  port: number,
): Promise<void> {
  const script = path.join(ns.dir, "file-server.js");
  fs.writeFileSync(script, FILE_SERVER);
  await spawnReady(ns, [process.execPath, script, root, String(port)]);
}

/** `GET /health` of a guest: its JSON, or undefined when it did not answer. */
export async function health(
  ns: TestNamespace,
  host: string,
): Promise<{ build?: string } | undefined> {
  const body = await ns.get(`http://${host}/health`);
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body) as { build?: string };
  } catch {
    return undefined;
  }
}

/** Polls `check` every 200 ms until it returns something truthy, or fails after `ms`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms: number,
): Promise<T> {
  for (const end = Date.now() + ms; ;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const RELAY = `
const net = require("net");
const [sock, port] = process.argv.slice(2);
net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u).pipe(c);
  const end = () => { c.destroy(); u.destroy(); };
  c.on("error", end); u.on("error", end);
}).listen(Number(port), "127.0.0.1", () => console.log("ready"));
`;

/**
 * Makes 127.0.0.1:`port` inside `ns` reach 127.0.0.1:`port` of the test's own namespace, over a
 * Unix socket (the file system is shared; no veth, no route, no address in either namespace).
 * Used for servers a helper starts outside, such as SeaweedFS. Returns a function that closes
 * the outer end; the inner end dies with the namespace.
 */
export async function relayIntoNamespace(ns: TestNamespace, port: number): Promise<() => void> {
  const sock = path.join(ns.dir, `relay-${port}.sock`);
  const outer = net.createServer((c) => {
    const u = net.connect(port, "127.0.0.1");
    c.pipe(u).pipe(c);
    const end = () => {
      c.destroy();
      u.destroy();
    };
    c.on("error", end);
    u.on("error", end);
  });
  await new Promise<void>((resolve) => outer.listen(sock, resolve));
  const script = path.join(ns.dir, "relay.js");
  fs.writeFileSync(script, RELAY);
  await spawnReady(ns, [process.execPath, script, sock, String(port)]);
  return () => outer.close();
}

/** Spawns a Node script inside `ns` that prints a line once it is ready; resolves then. */
async function spawnReady(ns: TestNamespace, argv: string[]): Promise<number> {
  const [file, ...args] = ns.argv(argv);
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${argv.join(" ")} exited ${code}`)));
    child.stdout!.once("data", () => resolve());
  });
  child.removeAllListeners("exit");
  child.unref();
  return child.pid!;
}

const PROBER = `
const http = require("http"), fs = require("fs");
const [url, out, every] = process.argv.slice(2);
const fd = fs.openSync(out, "a");
let stop = false;
process.on("SIGTERM", () => { stop = true; });
const once = () => new Promise((resolve) => {
  const t = Date.now();
  const req = http.get(url, { timeout: 1000, agent: false }, (res) => {
    let body = "";
    res.on("data", (d) => (body += d));
    res.on("end", () => {
      let build;
      try { build = JSON.parse(body).build; } catch {}
      resolve({ t, ok: res.statusCode === 200 && !!build, status: res.statusCode, build });
    });
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => resolve({ t, ok: false, error: e.message }));
});
(async () => {
  console.log("ready");
  while (!stop) {
    const r = await once();
    fs.writeSync(fd, JSON.stringify(r) + "\\n");
    await new Promise((r) => setTimeout(r, Number(every)));
  }
  fs.closeSync(fd);
  process.exit(0);
})();
`;

export interface Probe {
  readonly t: number;
  readonly ok: boolean;
  readonly status?: number;
  readonly build?: string;
  readonly error?: string;
}

/** A probe loop inside `ns`: `GET url` one after another, `everyMs` apart, until stopped. */
export class ProbeLoop {
  private constructor(
    private readonly pid: number,
    private readonly out: string,
  ) {}

  static async start(ns: TestNamespace, url: string, everyMs = 50): Promise<ProbeLoop> {
    const out = path.join(ns.dir, `probes-${randomBytes(3).toString("hex")}.jsonl`);
    const script = path.join(ns.dir, "prober.js");
    fs.writeFileSync(script, PROBER);
    const pid = await spawnReady(ns, [process.execPath, script, url, out, String(everyMs)]);
    return new ProbeLoop(pid, out);
  }

  /** Stops the loop and returns every probe it made. */
  async stop(): Promise<Probe[]> {
    try {
      process.kill(this.pid, "SIGTERM");
    } catch {
      // gone already
    }
    for (let i = 0; i < 100 && commandOf(this.pid) !== ""; i++)
      await new Promise((r) => setTimeout(r, 20));
    return fs
      .readFileSync(this.out, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Probe);
  }
}

/** The builds a probe sequence saw, with repeats collapsed: [old, new] for one clean switch. */
export function buildSequence(probes: readonly Probe[]): (string | undefined)[] {
  const seq: (string | undefined)[] = [];
  for (const p of probes)
    if (seq[seq.length - 1] !== p.build || seq.length === 0) seq.push(p.build);
  return seq;
}
