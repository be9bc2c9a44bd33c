/**
 * A real S3 server for tests: SeaweedFS (`weed mini`, built by scripts/install-seaweedfs.sh into
 * the exoform cache), bound to 127.0.0.1 only, on free ports, with one identity from an
 * s3.json and its own data directory. One server per test suite: start it in `beforeAll`,
 * `stop()` it in `afterAll` (it also stops itself when it fails to become ready).
 *
 * SeaweedFS enforces object ACLs (anonymous GET of a private object gets 403) and real
 * multipart uploads, which the Spaces upload tests rely on [shared notes cloud-facts §5].
 */
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand, ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { freeLocalPort } from "../../infra/targets/local/qemu";
import { repoRoot } from "./pulumi";

/** A running SeaweedFS S3 server. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`: the S3 API (path-style). */
  readonly endpoint: string;
  /** The identity's keys (random per server). */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Creates a bucket (private). */
  createBucket(name: string): Promise<void>;
  /** The server's output so far (for failure messages). */
  log(): string;
  /** Stops the server and removes its data directory; safe to call twice. */
  stop(): Promise<void>;
}

/** `<cache>/seaweedfs/<version>/bin/weed` as scripts/install-seaweedfs.sh installs it. */
export function seaweedfsBinaryPath(): string {
  const [version] = fs
    .readFileSync(path.join(repoRoot, "scripts", "seaweedfs-version"), "utf8")
    .trim()
    .split(/\s+/);
  const cache = process.env.EXOFORM_CACHE ?? path.join(os.homedir(), ".cache", "exoform");
  return path.join(cache, "seaweedfs", version, "bin", "weed");
}

/**
 * The weed binary, or an Error that says how to get it. Tests call this and fail (never skip)
 * when SeaweedFS is missing.
 */
export function requireSeaweedfs(): string {
  const weed = seaweedfsBinaryPath();
  if (fs.existsSync(weed)) return weed;
  throw new Error(
    `SeaweedFS is not installed (${weed} is missing): run \`npm run bootstrap\` ` +
      "(or `bash scripts/install-seaweedfs.sh`, about 12 minutes the first time)",
  );
}

const READY_TIMEOUT_MS = 60_000;

/** Starts SeaweedFS and waits until its S3 API answers an authenticated request. */
export async function startS3Server(): Promise<S3TestServer> {
  const weed = requireSeaweedfs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-s3-"));
  const accessKeyId = `EXO${randomBytes(8).toString("hex").toUpperCase()}`;
  const secretAccessKey = randomBytes(24).toString("hex");
  const config = path.join(dir, "s3.json");
  fs.writeFileSync(
    config,
    JSON.stringify({
      identities: [
        {
          name: "exoform",
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ["Admin", "Read", "List", "Tagging", "Write", "WriteAcp", "ReadAcp"],
        },
      ],
    }),
    { mode: 0o600 },
  );
  // Every listener gets an explicit free port: the defaults (and port+10000 for gRPC) would
  // collide with other suites and other engineers' servers on the same machine.
  const names = [
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
  ];
  const ports: Record<string, number> = {};
  for (const name of names) ports[name] = await freeLocalPort();
  const args = [
    "mini",
    `-dir=${path.join(dir, "data")}`,
    // Both: -ip is what it advertises (default 192.0.2.2), -ip.bind where it listens (0.0.0.0).
    "-ip=127.0.0.1",
    "-ip.bind=127.0.0.1",
    `-s3.config=${config}`,
    ...names.map((n) => `-${n}=${ports[n]}`),
    "-admin.port.legacy=0",
    "-admin.ui=false",
    "-webdav=false",
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    "-master.telemetry=false",
  ];
  fs.mkdirSync(path.join(dir, "data"));
  const child = spawn(weed, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const endpoint = `http://127.0.0.1:${ports["s3.port"]}`;
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    client.destroy();
    await stopChild(child, exited);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(client, child, () => output);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    createBucket: async (name) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    log: () => output,
    stop,
  };
}

async function waitUntilReady(client: S3Client, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `weed mini exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`,
      );
    try {
      await client.send(new ListBucketsCommand({}));
      return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `weed mini's S3 API did not answer within ${READY_TIMEOUT_MS / 1000} s (last error: ${String(last)}):\n${output()}`,
  );
}

async function stopChild(child: ChildProcess, exited: Promise<void>) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
