/**
 * A tiny HTTP proxy on 127.0.0.1 in front of a test server: it records every request (method,
 * path, body bytes) and can answer the first N requests matching a rule with an error status
 * instead of forwarding them, to prove a client retries. The Host header is forwarded as sent,
 * so S3 signatures made for the proxy's address still verify at the server behind it.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** One request the proxy saw. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  /** Request body bytes received by the proxy. */
  readonly bodyBytes: number;
  /** The status the client got. */
  readonly status: number;
  /** True when the proxy answered itself (an injected failure). */
  readonly injected: boolean;
}

/** Which requests to fail, how often, and with what. */
export interface FailureRule {
  readonly matches: (method: string, url: string) => boolean;
  /** How many matching requests get the error (then they pass through). */
  count: number;
  /** e.g. 503. */
  readonly status: number;
  /** The S3 error code in the body (default ServiceUnavailable). */
  readonly code?: string;
  /** Extra response headers. */
  readonly headers?: Record<string, string>;
}

/** A running proxy: its address, what it saw, and how to make it fail. */
export interface CountingProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly requests: ProxiedRequest[];
  /** Fail the next `rule.count` matching requests. */
  injectFailures(rule: FailureRule): void;
  /** Sum of request body bytes seen since the last reset. */
  bodyBytes(): number;
  reset(): void;
  close(): Promise<void>;
}

/** Starts a proxy forwarding to `target` (`http://127.0.0.1:<port>`). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const rules: FailureRule[] = [];
  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const rule = rules.find((r) => r.count > 0 && r.matches(method, url));
    let bodyBytes = 0;
    if (rule) {
      rule.count--;
      req.on("data", (d: Buffer) => (bodyBytes += d.length));
      req.on("end", () => {
        requests.push({ method, url, bodyBytes, status: rule.status, injected: true });
        res.writeHead(rule.status, { "content-type": "application/xml", ...rule.headers });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${rule.code ?? "ServiceUnavailable"}</Code><Message>injected by the test proxy</Message></Error>`,
        );
      });
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method,
        path: url,
        headers: req.headers,
      },
      (up) => {
        requests.push({ method, url, bodyBytes, status: up.statusCode ?? 0, injected: false });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on("error", (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.on("data", (d: Buffer) => (bodyBytes += d.length));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    injectFailures: (rule) => rules.push(rule),
    bodyBytes: () => requests.reduce((sum, r) => sum + r.bodyBytes, 0),
    reset: () => {
      requests.length = 0;
      rules.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
