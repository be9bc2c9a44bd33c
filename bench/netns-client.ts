/**
 * HTTP clients that run inside a guest's network namespace (where the guest is reachable):
 * `clientScript(cmd)` is a `node -e` program; it prints one JSON result line. The function
 * below is sent as source text, so it must be self-contained (require inside, no imports).
 */

export interface HttpReply {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

export type ClientCommand =
  /** One connection; `chunks` are written `gapMs` apart (or each after the previous reply when
   * `waitEach`); reads `expect` replies (HEAD replies have no body: `heads[i]`). */
  | {
      readonly op: "exchange";
      readonly host: string;
      readonly chunks: readonly string[];
      readonly gapMs?: number;
      readonly waitEach?: boolean;
      readonly heads?: readonly boolean[];
      readonly expect: number;
      /** Then wait for the server to close the connection. */
      readonly untilClose?: boolean;
      readonly timeoutMs: number;
    }
  /** `count` connections at once, each one GET of `path` with Connection: close. */
  | {
      readonly op: "concurrent";
      readonly host: string;
      readonly path: string;
      readonly count: number;
      readonly timeoutMs: number;
    }
  /** Until `timeoutMs`: a new connection every 2 ms (each given 300 ms) sending GET /; prints
   * the epoch milliseconds when the first 200 arrived. */
  | { readonly op: "firstOk"; readonly host: string; readonly timeoutMs: number }
  /** `count` connections (from local ports `localPortBase`… when given) that send `payload`
   * (raw bytes, base64) and are held open `holdMs`, then destroyed. */
  | {
      readonly op: "hold";
      readonly host: string;
      readonly count: number;
      readonly payloadBase64?: string;
      readonly localPortBase?: number;
      readonly holdMs: number;
    };

export interface ExchangeResult {
  readonly replies: HttpReply[];
  /** The server closed the connection. */
  readonly closed: boolean;
  readonly error?: string;
}
export interface ConcurrentResult {
  readonly statuses: number[];
  readonly errors: string[];
}
export interface FirstOkResult {
  /** Epoch ms of the first 200, or null. */
  readonly at: number | null;
}
export interface HoldResult {
  readonly connected: number;
  /** The server closed (FIN) or reset the connection while it was held. */
  readonly closedByServer: number;
  readonly resetByServer: number;
}

function client(cmd: ClientCommand): void {
  const net = require("node:net") as typeof import("node:net");
  const PORT = 80;
  const done = (result: unknown) => {
    process.stdout.write(JSON.stringify(result) + "\n");
    process.exit(0);
  };

  /** Complete replies at the start of buf, and how many bytes they took. */
  function parse(buf: Buffer, heads: readonly boolean[], from: number) {
    const replies: HttpReply[] = [];
    let at = 0;
    for (;;) {
      const end = buf.indexOf("\r\n\r\n", at);
      if (end < 0) break;
      const lines = buf.subarray(at, end).toString("latin1").split("\r\n");
      const status = Number(lines[0].split(" ")[1]);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const len = heads[from + replies.length] ? 0 : Number(headers["content-length"] ?? 0);
      if (buf.length < end + 4 + len) break;
      replies.push({
        status,
        headers,
        body: buf.subarray(end + 4, end + 4 + len).toString("latin1"),
      });
      at = end + 4 + len;
    }
    return { replies, used: at };
  }

  function exchange(
    chunks: readonly string[],
    o: {
      gapMs?: number;
      waitEach?: boolean;
      heads?: readonly boolean[];
      expect: number;
      untilClose?: boolean;
    },
    timeoutMs: number,
  ): Promise<ExchangeResult> {
    return new Promise((resolve) => {
      const replies: HttpReply[] = [];
      let buf = Buffer.alloc(0);
      let closed = false;
      let next = 0;
      const s = net.connect({ host: cmd.host, port: PORT });
      s.setNoDelay(true);
      const finish = (error?: string) => {
        clearTimeout(timer);
        s.destroy();
        resolve({ replies, closed, error });
      };
      const timer = setTimeout(() => finish(`timeout after ${replies.length} replies`), timeoutMs);
      const write = () => {
        if (next >= chunks.length) return;
        s.write(Buffer.from(chunks[next++], "latin1"));
        if (!o.waitEach) setTimeout(write, o.gapMs ?? 0);
      };
      s.on("connect", write);
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const got = parse(buf, o.heads ?? [], replies.length);
        replies.push(...got.replies);
        buf = buf.subarray(got.used);
        if (got.replies.length && o.waitEach) write();
        if (replies.length >= o.expect && !o.untilClose) finish();
      });
      s.on("end", () => {
        closed = true;
        if (replies.length >= o.expect) finish();
      });
      s.on("close", () => finish(replies.length >= o.expect ? undefined : "closed early"));
      s.on("error", (e: Error) => finish(e.message));
    });
  }

  if (cmd.op === "exchange") {
    void exchange(cmd.chunks, cmd, cmd.timeoutMs).then(done);
  } else if (cmd.op === "concurrent") {
    const req = `GET ${cmd.path} HTTP/1.1\r\nHost: ${cmd.host}\r\nConnection: close\r\n\r\n`;
    void Promise.all(
      Array.from({ length: cmd.count }, () => exchange([req], { expect: 1 }, cmd.timeoutMs)),
    ).then((rs) =>
      done({
        statuses: rs.map((r) => r.replies[0]?.status ?? 0),
        errors: rs.flatMap((r) => (r.error ? [r.error] : [])),
      }),
    );
  } else if (cmd.op === "firstOk") {
    const req = Buffer.from(`GET / HTTP/1.1\r\nHost: ${cmd.host}\r\nConnection: close\r\n\r\n`);
    const tries = setInterval(() => {
      const s = net.connect({ host: cmd.host, port: PORT });
      s.setTimeout(300, () => s.destroy());
      s.on("connect", () => s.write(req));
      s.on("data", (d: Buffer) => {
        if (/^HTTP\/1\.1 200 /.test(d.toString("latin1"))) done({ at: Date.now() });
      });
      s.on("error", () => undefined);
    }, 2);
    setTimeout(() => {
      clearInterval(tries);
      done({ at: null });
    }, cmd.timeoutMs);
  } else {
    let connected = 0;
    let closedByServer = 0;
    let resetByServer = 0;
    const socks = Array.from({ length: cmd.count }, (_, i) => {
      const s = net.connect({
        host: cmd.host,
        port: PORT,
        localPort: cmd.localPortBase === undefined ? undefined : cmd.localPortBase + i,
      });
      s.on("connect", () => {
        connected++;
        if (cmd.payloadBase64) s.write(Buffer.from(cmd.payloadBase64, "base64"));
      });
      s.on("data", () => undefined); // read what comes, so that the server's FIN is seen
      s.on("end", () => closedByServer++);
      s.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "ECONNRESET") resetByServer++;
      });
      return s;
    });
    setTimeout(() => {
      for (const s of socks) s.destroy();
      done({ connected, closedByServer, resetByServer });
    }, cmd.holdMs);
  }
}

/** `node -e` source for one command. */
export function clientScript(cmd: ClientCommand): string {
  return `(${client.toString()})(${JSON.stringify(cmd)})`;
}
