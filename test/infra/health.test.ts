/**
 * The health module against loopback: real `ping 127.0.0.1` and a real HTTP server on
 * 127.0.0.1 standing in for the guest. Parsers and thresholds are checked with canned input.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { AddressInfo } from "node:net";
import { HealthThresholdsSchema } from "../../infra/health/thresholds";
import {
  assertHealthy,
  checkHealth,
  HealthCheckSpec,
  icmpThresholdProblem,
  summarizeReport,
} from "../../infra/health";
import { healthResponseProblem } from "../../infra/health/http";
import { parsePingLine, parsePingSummary } from "../../infra/health/ping";

const BUILD = "ab".repeat(32);

describe("ping output parsing", () => {
  test("summary with replies", () => {
    const out = `--- 10.0.2.15 ping statistics ---
5 packets transmitted, 4 received, 20% packet loss, time 803ms
rtt min/avg/max/mdev = 0.311/0.402/0.530/0.080 ms`;
    expect(parsePingSummary(out)).toEqual({
      sent: 5,
      received: 4,
      lossPercent: 20,
      rttMinMs: 0.311,
      rttAvgMs: 0.402,
      rttMaxMs: 0.53,
    });
  });
  test("summary without replies has no rtt", () => {
    const out = "3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2030ms";
    expect(parsePingSummary(out)).toEqual({ sent: 3, received: 0, lossPercent: 100 });
  });
  test("reply and error lines of ping -D -O", () => {
    expect(
      parsePingLine("[1732575321.123456] 64 bytes from 10.0.2.15: icmp_seq=3 ttl=64 time=0.41 ms"),
    ).toEqual({
      kind: "reply",
      atEpochMs: 1732575321123.456,
      rttMs: 0.41,
    });
    expect(
      parsePingLine("[1732575321.1] From 10.0.2.1 icmp_seq=1 Destination Host Unreachable"),
    ).toEqual({
      kind: "error",
      message: "From 10.0.2.1 icmp_seq=1 Destination Host Unreachable",
    });
    expect(parsePingLine("[1732575321.1] no answer yet for icmp_seq=2").kind).toBe("error");
    expect(parsePingLine("PING 10.0.2.15 (10.0.2.15) 56(84) bytes of data.").kind).toBe("other");
  });
});

describe("thresholds and responses", () => {
  const limits = { maxPacketLossPercent: 0, maxRttMs: 5 };
  test("loss above the limit", () => {
    expect(
      icmpThresholdProblem({ sent: 5, received: 4, lossPercent: 20, rttAvgMs: 1 }, limits),
    ).toMatch(/packet loss 20% \(4\/5 replies\) above the limit of 0%/);
  });
  test("rtt above the limit", () => {
    expect(
      icmpThresholdProblem({ sent: 5, received: 5, lossPercent: 0, rttAvgMs: 9 }, limits),
    ).toMatch(/round-trip 9 ms/);
  });
  test("within limits", () => {
    expect(
      icmpThresholdProblem({ sent: 5, received: 5, lossPercent: 0, rttAvgMs: 1 }, limits),
    ).toBeUndefined();
  });
  test("/health responses", () => {
    const ok = { statusCode: 200, body: JSON.stringify({ status: "ok", build: BUILD }) };
    expect(healthResponseProblem(ok, BUILD)).toBeUndefined();
    expect(healthResponseProblem({ ...ok, statusCode: 404 }, BUILD)).toBe(
      "status 404 (expected 200)",
    );
    expect(healthResponseProblem({ statusCode: 200, body: "hello" }, BUILD)).toMatch(/not JSON/);
    expect(healthResponseProblem({ statusCode: 200, body: "{}" }, BUILD)).toMatch(
      /no string field `build`/,
    );
    expect(healthResponseProblem(ok, "cd".repeat(32))).toMatch(/is not the deployed image/);
  });
});

describe("checkHealth on loopback", () => {
  let server: http.Server;
  let url: string;
  let build = BUILD;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-health-"));
  const serialLog = path.join(tmp, "serial.log");

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url !== "/health") res.writeHead(404).end();
      else
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ status: "ok", build }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    fs.writeFileSync(serialLog, "exo: mbr\nexo: long mode\nexo: http listening on 80\n");
  });
  afterAll(() => {
    server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const spec = (over: Partial<HealthCheckSpec> = {}): HealthCheckSpec => ({
    instance: "loopback-0",
    expectedBuild: BUILD,
    httpUrl: url,
    icmp: { address: "127.0.0.1" },
    startedAtEpochMs: Date.now(),
    thresholds: HealthThresholdsSchema.parse({ deadlineSeconds: 5, pingCount: 3 }),
    consoleLogPath: serialLog,
    ...over,
  });

  test("both probes pass and report timings", async () => {
    const events: string[] = [];
    const report = await checkHealth(spec(), (e) => events.push(`${e.phase}:${e.status}`));
    expect(report.healthy).toBe(true);
    expect(report.icmp).toMatchObject({
      status: "passed",
      address: "127.0.0.1",
      stats: { sent: 3, received: 3, lossPercent: 0 },
    });
    expect(report.icmp.firstReplyMs).toBeGreaterThanOrEqual(0);
    expect(report.http).toMatchObject({
      status: "passed",
      build: BUILD,
      requests: 3,
      lossPercent: 0,
    });
    // Distributions of the timed probes: every reply and request counted, quantiles ordered.
    for (const d of [report.icmp.stats!.rtt!, report.http.latency!]) {
      expect(d.count).toBe(3);
      expect(d.minMs).toBeLessThanOrEqual(d.p50Ms);
      expect(d.p50Ms).toBeLessThanOrEqual(d.p95Ms);
      expect(d.p95Ms).toBeLessThanOrEqual(d.maxMs);
    }
    expect(report.http.firstOkMs).toBeGreaterThanOrEqual(0);
    expect(events[0]).toBe("health:start");
    expect(events[events.length - 1]).toBe("health:stop");
    expect(summarizeReport(report)).toMatch(/ping 0% loss.*HTTP 200 build ok/);
  });

  test("the deadline counts from the check, not from the instance's start: a re-run check probes", async () => {
    // A check re-created an hour after its instance started (a threshold changed, a recovery).
    const hourAgo = Date.now() - 3_600_000;
    const report = await checkHealth(spec({ startedAtEpochMs: hourAgo }));
    expect(report.failures).toEqual([]);
    expect(report.healthy).toBe(true);
    // Times to the first reply still count from the instance's start.
    expect(report.http.firstOkMs).toBeGreaterThanOrEqual(3_600_000);
  });

  test("ICMP skipped with a reason still needs HTTP", async () => {
    const report = await checkHealth(spec({ icmp: { skipReason: "user-mode networking" } }));
    expect(report.healthy).toBe(true);
    expect(report.icmp).toEqual({ status: "skipped", reason: "user-mode networking" });
  });

  test("ping alone is not healthy: a wrong build fails with the probe, last error and serial tail", async () => {
    build = "00".repeat(32);
    try {
      const s = spec({
        thresholds: HealthThresholdsSchema.parse({ deadlineSeconds: 1, pingCount: 2 }),
      });
      const report = await checkHealth(s);
      expect(report.healthy).toBe(false);
      expect(report.icmp.status).toBe("passed");
      expect(report.failures.map((f) => f.probe)).toEqual(["http"]);
      expect(() => assertHealthy(report, s)).toThrow(
        /health check failed for loopback-0:\n {2}http: GET .* did not succeed within 1 s \(last: build 0{64} is not the deployed image (ab){32}\)\nlast lines of the console .*serial\.log\):\n {2}\| exo: mbr/,
      );
    } finally {
      build = BUILD;
    }
  });

  test("a port nobody listens on: connection refused until the deadline", async () => {
    const report = await checkHealth(
      spec({
        httpUrl: "http://127.0.0.1:9/health",
        icmp: { skipReason: "not tested here" },
        thresholds: HealthThresholdsSchema.parse({ deadlineSeconds: 0.5 }),
      }),
    );
    expect(report.failures).toEqual([
      { probe: "http", error: expect.stringMatching(/last: ECONNREFUSED/) },
    ]);
  });
});
