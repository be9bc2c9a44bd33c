/**
 * TCP and HTTP of the kernel on real QEMU (TCG, 4 MiB), in a network namespace of the test's
 * own: curl GET/HEAD/404/405, /health, keep-alive, pipelining, 50 concurrent connections, a
 * request split over three segments, a client without TCP timestamps, half-open and garbage
 * connections beside a normal client, and a link that drops a fifth of all TCP segments
 * (nftables' random drop on the namespace's tap; this kernel has no netem).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { GATEWAY, stopAllGuests, TestGuest } from "../helpers/guest";
import { buildKernel, configBlock } from "../helpers/kernel-image";
import {
  clientScript,
  ClientCommand,
  ConcurrentResult,
  ExchangeResult,
  HoldResult,
} from "../../bench/netns-client";
import { describeAsRoot } from "../helpers/privilege";

const IP = "10.0.2.15";
const URL = `http://${IP}`;
const BODY = "<h1>exoform over TCP</h1>\n";
const GET = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: ${IP}\r\n${extra}\r\n`;

let g: TestGuest;

/** Runs one netns-client command inside the guest's namespace. */
async function client<T>(cmd: ClientCommand): Promise<T> {
  const out = await g.exec([process.execPath, "-e", clientScript(cmd)]);
  return JSON.parse(out.trim().split("\n").pop()!) as T;
}

/** GET / then GET /health on one connection. */
function rootThenHealth(): Promise<ExchangeResult> {
  return client<ExchangeResult>({
    op: "exchange",
    host: IP,
    chunks: [GET("/"), GET("/health")],
    waitEach: true,
    expect: 2,
    timeoutMs: 20_000,
  });
}

async function curl(args: string[]): Promise<string> {
  return g.exec(["curl", "-s", "--max-time", "20", ...args]);
}

describeAsRoot("HTTP on the kernel in QEMU", () => {
  beforeAll(async () => {
    g = await TestGuest.start(await buildKernel(), {
      block: configBlock(`port=80\n\n${BODY}`),
      smbiosSerial: `exo:net=static;ip=${IP}/24;gw=${GATEWAY}`,
    });
    try {
      await g.waitFor(`exo: ip ${IP}/24`, 60_000);
      await g.waitFor("exo: http listening on 80", 60_000);
      expect(await g.waitForEcho(IP)).toBe(true);
    } catch (e) {
      (e as Error).message += `\nserial log:\n${g.serial().join("\n")}`;
      throw e;
    }
  }, 120_000);
  afterAll(stopAllGuests);

  test("curl GET / and HEAD /: the configured body and its length", async () => {
    const get = await curl(["-i", `${URL}/`]);
    expect(get).toMatch(/^HTTP\/1\.1 200 /);
    expect(get).toContain(`Content-Length: ${BODY.length}\r\n`);
    expect(get.endsWith(`\r\n\r\n${BODY}`)).toBe(true);
    const head = await curl(["-I", `${URL}/`]);
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toContain(`Content-Length: ${BODY.length}\r\n`);
    expect(head.endsWith("\r\n\r\n")).toBe(true);
  });

  test("curl: 404 for other paths, 405 (with Allow) for other methods", async () => {
    expect(await curl(["-o", "/dev/null", "-w", "%{http_code}", `${URL}/nope`])).toBe("404");
    const post = await curl(["-i", "-X", "POST", "-d", "x=1", `${URL}/`]);
    expect(post).toMatch(/^HTTP\/1\.1 405 /);
    expect(post).toContain("Allow: GET, HEAD\r\n");
  });

  test("/health: JSON with status, the image id, uptime, address and counters", async () => {
    const doc = JSON.parse(await curl([`${URL}/health`]));
    expect(doc).toEqual({
      status: "ok",
      build: g.imageId,
      uptime_ms: expect.any(Number),
      ip: IP,
      requests: expect.any(Number),
      drops: expect.any(Number),
    });
    expect(doc.uptime_ms).toBeGreaterThan(0);
    expect(doc.requests).toBeGreaterThan(0);
  });

  test("several requests on one keep-alive connection, then Connection: close", async () => {
    const paths = ["/", "/health", "/nope", "/"];
    const r = await client<ExchangeResult>({
      op: "exchange",
      host: IP,
      chunks: [...paths.map((p) => GET(p)), GET("/", "Connection: close\r\n")],
      waitEach: true,
      expect: paths.length + 1,
      untilClose: true,
      timeoutMs: 20_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.replies.map((x) => x.status)).toEqual([200, 200, 404, 200, 200]);
    expect(r.replies[4].headers.connection).toBe("close");
    expect(r.closed).toBe(true);
  });

  test("pipelined requests are answered in order", async () => {
    const r = await client<ExchangeResult>({
      op: "exchange",
      host: IP,
      chunks: [GET("/nope") + `HEAD / HTTP/1.1\r\nHost: ${IP}\r\n\r\n` + GET("/health") + GET("/")],
      heads: [false, true, false, false],
      expect: 4,
      timeoutMs: 20_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.replies.map((x) => x.status)).toEqual([404, 200, 200, 200]);
    expect(r.replies[1].body).toBe("");
    expect(JSON.parse(r.replies[2].body).status).toBe("ok");
    expect(r.replies[3].body).toBe(BODY);
  });

  test("50 concurrent connections are all served", async () => {
    const r = await client<ConcurrentResult>({
      op: "concurrent",
      host: IP,
      path: "/",
      count: 50,
      timeoutMs: 30_000,
    });
    expect(r.errors).toEqual([]);
    expect(r.statuses).toEqual(Array(50).fill(200));
  });

  test("a request split over three segments", async () => {
    const r = await client<ExchangeResult>({
      op: "exchange",
      host: IP,
      chunks: ["GET /hea", "lth HTTP/1.1\r\nHo", `st: ${IP}\r\n\r\n`],
      gapMs: 100, // Nagle is off: each write is a segment of its own
      expect: 1,
      timeoutMs: 20_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.replies[0].status).toBe(200);
    expect(JSON.parse(r.replies[0].body).ip).toBe(IP);
  });

  test("a client with TCP timestamps disabled (SACK-permitted still offered)", async () => {
    await g.exec(["sysctl", "-q", "-w", "net.ipv4.tcp_timestamps=0"]);
    try {
      expect(await curl(["-o", "/dev/null", "-w", "%{http_code}", `${URL}/`])).toBe("200");
      const r = await rootThenHealth();
      expect(r.replies.map((x) => x.status)).toEqual([200, 200]);
    } finally {
      await g.exec(["sysctl", "-q", "-w", "net.ipv4.tcp_timestamps=1"]);
    }
  });

  test("half-open, idle and garbage connections do not stop service for others", async () => {
    // 40 handshakes left half-open (their SYN-ACKs dropped), 30 idle connections and 10 that
    // send garbage: together more than the kernel's 64 connection slots. A normal client that
    // comes 1.5 s later is still served at once.
    const HALF_OPEN_BASE = 41000;
    await g.exec(["nft", "add", "table", "inet", "halfopen"]);
    try {
      await g.exec([
        "nft", "add", "chain", "inet", "halfopen", "in",
        "{ type filter hook input priority 0; }",
      ]); // prettier-ignore
      await g.exec([
        "nft", "add", "rule", "inet", "halfopen", "in", "iifname", "tap0", "tcp", "dport",
        `${HALF_OPEN_BASE}-${HALF_OPEN_BASE + 39}`, "drop",
      ]); // prettier-ignore
      const hold = (count: number, extra: Partial<ClientCommand>) =>
        client<HoldResult>({
          op: "hold",
          host: IP,
          count,
          holdMs: 8_000,
          ...extra,
        } as ClientCommand);
      const halfOpen = hold(40, { localPortBase: HALF_OPEN_BASE });
      const idle = hold(30, {});
      const garbage = hold(10, { payloadBase64: randomBytes(700).toString("base64") });
      await new Promise((r) => setTimeout(r, 1500));
      const started = Date.now();
      const r = await rootThenHealth();
      expect(r.error).toBeUndefined();
      expect(r.replies.map((x) => x.status)).toEqual([200, 200]);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await halfOpen).connected).toBe(0);
      // Under this overload a garbage connection is either answered (400/431, then FIN) or,
      // while it is still idle, reset to make room; none is left open. Idle ones are reset.
      const junk = await garbage;
      expect(junk.closedByServer + junk.resetByServer).toBe(10);
      await idle;
    } finally {
      await g.exec(["nft", "delete", "table", "inet", "halfopen"]);
    }
  }, 60_000);

  test("a link that drops 20% of TCP segments each way still completes every request", async () => {
    const nft = (...args: string[]) => g.exec(["nft", ...args]);
    await nft("add", "table", "inet", "lossy");
    try {
      await nft("add", "chain", "inet", "lossy", "in", "{ type filter hook input priority 0; }");
      await nft("add", "chain", "inet", "lossy", "out", "{ type filter hook output priority 0; }");
      for (const [chain, dir] of [
        ["in", "iifname"],
        ["out", "oifname"],
      ])
        await nft("add", "rule", "inet", "lossy", chain, dir, "tap0", "meta", "l4proto", "tcp",
                  "numgen", "random", "mod", "100", "<", "20", "counter", "drop"); // prettier-ignore
      const statuses: string[] = [];
      for (let i = 0; i < 15; i++)
        statuses.push(await curl(["-o", "/dev/null", "-w", "%{http_code}", `${URL}/health`]));
      expect(statuses).toEqual(Array(15).fill("200"));
      const r = await client<ExchangeResult>({
        op: "exchange",
        host: IP,
        chunks: Array(10).fill(GET("/")),
        waitEach: true,
        expect: 10,
        timeoutMs: 60_000,
      });
      expect(r.error).toBeUndefined();
      expect(r.replies.every((x) => x.status === 200 && x.body === BODY)).toBe(true);
      const dropped = [...(await nft("list", "table", "inet", "lossy")).matchAll(/packets (\d+)/g)];
      expect(dropped.map((m) => Number(m[1])).reduce((a, b) => a + b, 0)).toBeGreaterThan(5);
    } finally {
      await nft("delete", "table", "inet", "lossy");
    }
  }, 120_000);
});

test("nft (Debian package nftables) is installed: the lossy-link and half-open tests need it", () => {
  expect(() => execFileSync("nft", ["--version"], { stdio: "ignore" })).not.toThrow();
});
