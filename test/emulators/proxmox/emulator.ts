/**
 * The Proxmox VE API emulator (tests only): an HTTPS server on 127.0.0.1 that answers the
 * calls exoform makes as one PVE node would, validates every request against PVE's own API
 * schema (schema.ts), runs worker tasks asynchronously, and boots VMs in QEMU on a bridge in
 * a network namespace it makes (network.ts), so health checks reach the real kernel.
 *
 * Behaviour follows pve-http-server `src/PVE/APIServer/AnyEvent.pm` (auth before anything,
 * 3 s delay on a bad token, chunked bodies refused with 501, multipart uploads), pve-manager
 * `PVE/HTTPServer.pm` (token header) and `Formatter/Standard.pm` (the JSON envelope).
 *
 *   const pve = await ProxmoxEmulator.start({ authFailureDelayMs: 50 });
 *   proxmoxApi({ host: "127.0.0.1", port: pve.port, tokenID: pve.token.id,
 *                tokenSecret: pve.token.secret, fetch: pve.trustingFetch() })
 *   pve.inject.failNextTask("imgcopy", "checksum mismatch: …");
 *   pve.requests; pve.schemaViolations();
 *   await pve.stop();
 */
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { Agent } from "undici";
import { httpError, paramError, PveError } from "./errors";
import { multipartBoundary, MultipartUpload, parseMultipartUpload } from "./multipart";
import {
  BridgeNetwork,
  BridgeNetworkOptions,
  createBridgeNetwork,
  removeBridgeNetwork,
} from "./network";
import { DEFAULT_STORAGES, PveNode, StorageSpec } from "./node";
import { ParamErrors, pathTemplates, validateRequest } from "./schema";
import { makeSelfSignedCert, SelfSignedCert } from "./tls";

export interface ProxmoxEmulatorOptions {
  /** Node name; default `pve`. */
  readonly node?: string;
  /** `GET /version`'s version; default `8.4.1`. `message` is in error bodies from 8.4 on. */
  readonly version?: string;
  /** Storages by id; default {@link DEFAULT_STORAGES} (`local` with import, `local-lvm`). */
  readonly storages?: Record<string, StorageSpec>;
  /**
   * The bridge VMs attach to, in a network namespace the emulator makes and removes (root
   * needed). `false`: no network, API only (VMs cannot start).
   */
  readonly network?: false | Omit<BridgeNetworkOptions, "netns" | "dir">;
  /** Delay of a 401; PVE waits 3000 ms. */
  readonly authFailureDelayMs?: number;
  /** Every task lasts at least this long; default 0. */
  readonly taskMinDurationMs?: number;
  readonly accel?: "tcg" | "kvm";
}

/** One request as the emulator saw it, with its answer's status. */
export interface RecordedRequest {
  /** When it arrived (Date.now()). */
  readonly at: number;
  readonly method: string;
  /** Path below `/api2/json`, percent-decoded per segment. */
  path: string;
  /** The schema path it matched (`/nodes/{node}/qemu`), if any. */
  template?: string;
  /** Path, query and body parameters merged, as PVE merges them. */
  readonly params: Record<string, string>;
  status: number;
  /** PVE's parameter errors when the request did not validate against the schema. */
  schemaErrors?: ParamErrors;
  /** Injected: the answer was held back this long after the request was carried out (Infinity: dropped). */
  heldMs?: number;
}

type PathMatch = string | RegExp;

interface InjectedResponse {
  readonly method: string;
  readonly path: PathMatch;
  readonly act: "fail" | "stall" | "drop";
  readonly status?: number;
  readonly message?: string;
  readonly ms?: number;
}

const API_PREFIX = "/api2/json";
const JSON_CT = "application/json;charset=UTF-8";

export class ProxmoxEmulator {
  readonly requests: RecordedRequest[] = [];
  /** The one API token the node knows: `id` is `USER@REALM!TOKENID`, `secret` a lower-case UUID. */
  readonly token = { id: "exoform@pve!test", secret: randomUUID() };
  readonly inject: FailureInjection;
  private readonly injected: InjectedResponse[] = [];
  private readonly agent: Agent;

  private constructor(
    private readonly server: https.Server,
    readonly port: number,
    readonly cert: SelfSignedCert,
    readonly pve: PveNode,
    readonly network: BridgeNetwork | undefined,
    private readonly dir: string,
    private readonly authFailureDelayMs: number,
  ) {
    this.inject = new FailureInjection(this.injected, pve);
    this.agent = new Agent({ connect: { ca: cert.cert } });
  }

  static async start(o: ProxmoxEmulatorOptions = {}): Promise<ProxmoxEmulator> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-pve-"));
    let network: BridgeNetwork | undefined;
    try {
      const cert = await makeSelfSignedCert(dir);
      if (o.network !== false)
        network = await createBridgeNetwork({
          ...o.network,
          netns: `exo-pve-${randomBytes(4).toString("hex")}`,
          dir: path.join(dir, "net"),
        });
      const node = new PveNode({
        node: o.node ?? "pve",
        dir: path.join(dir, "node"),
        storages: o.storages ?? DEFAULT_STORAGES,
        network,
        accel: o.accel ?? "tcg",
        version: o.version ?? "8.4.1",
      });
      node.tasks.minDurationMs = o.taskMinDurationMs ?? 0;
      const server = https.createServer({ cert: cert.cert, key: cert.key });
      const port = await new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
      });
      const emulator = new ProxmoxEmulator(
        server,
        port,
        cert,
        node,
        network,
        dir,
        o.authFailureDelayMs ?? 3000,
      );
      server.on("request", (req, res) => void emulator.serve(req, res));
      server.on("upgrade", (req, socket) => void emulator.upgrade(req, socket as Duplex));
      return emulator;
    } catch (e) {
      if (network) await removeBridgeNetwork(network);
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** `https://127.0.0.1:<port>`. */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** The node's name (`pve`). */
  get node(): string {
    return this.pve.o.node;
  }

  /** Switches what `GET /version` reports (e.g. `8.3.5` to test the version check). */
  setVersion(version: string): void {
    this.pve.o.version = version;
  }

  /**
   * Node's fetch, trusting this run's certificate (and only it): for proxmox-api's `fetch`
   * option and for uploads with FormData (cloud-facts §4: an undici Agent as `dispatcher`).
   */
  trustingFetch(): typeof fetch {
    const dispatcher = this.dispatcher;
    // undici 6 (proxmox-api's) Agent in Node 24's fetch: compatible at run time, not in the types
    return (url, init) => fetch(url, { ...init, dispatcher } as unknown as RequestInit);
  }

  /** An undici dispatcher trusting this run's certificate (for undici's WebSocket, say). */
  get dispatcher(): Agent {
    return this.agent;
  }

  /** The address dnsmasq leased to VM `vmid`'s net0 (DHCP guests), if any yet. */
  leasedAddress(vmid: number): string | undefined {
    return this.pve.leasedAddress(vmid);
  }

  /** Everything VM `vmid` wrote to its serial port so far ("" when none). */
  serialLog(vmid: number): string {
    const vm = this.pve.vms.get(vmid);
    try {
      return vm ? fs.readFileSync(vm.files.serialLog, "latin1") : "";
    } catch {
      return "";
    }
  }

  /** Requests that failed the schema check or matched no schema path. */
  schemaViolations(): RecordedRequest[] {
    return this.requests.filter((r) => r.schemaErrors !== undefined);
  }

  /** What is left on the node: VMs, volumes in any storage, running QEMU processes. */
  leftovers(): { vms: number[]; volumes: string[]; runningVms: number[] } {
    const vms = [...this.pve.vms.keys()];
    return {
      vms,
      volumes: Object.keys(this.pve.o.storages).flatMap((s) =>
        this.pve.volumes(s).map((v) => v.volid),
      ),
      runningVms: [...this.pve.vms.values()]
        .filter((vm) => this.pve.isRunning(vm))
        .map((v) => v.vmid),
    };
  }

  /** Stops every VM, the network, the server; removes every file. Safe to repeat. */
  async stop(): Promise<void> {
    this.pve.consoles.closeAll(); // upgraded sockets are no longer the server's connections
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    await this.agent.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.pve.tasks.settle(),
      new Promise((r) => (timer = setTimeout(r, 10_000))),
    ]);
    clearTimeout(timer);
    await this.pve.haltAll();
    if (this.network) await removeBridgeNetwork(this.network);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- request handling ----

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://pve");
    const method = req.method ?? "GET";
    const record: RecordedRequest = {
      at: Date.now(),
      method,
      path: url.pathname.startsWith(API_PREFIX)
        ? url.pathname.slice(API_PREFIX.length)
        : url.pathname,
      params: {},
      status: 0,
    };
    this.requests.push(record);
    let stallMs = 0;
    try {
      const auth = this.authenticate(req.headers.authorization);
      if ("error" in auth) {
        await sleep(this.authFailureDelayMs);
        return this.send(res, record, httpError(401, auth.error));
      }
      const user = auth.user;
      if (req.headers["transfer-encoding"]?.toLowerCase() === "chunked")
        return this.send(res, record, httpError(501, "chunked transfer encoding not supported"));
      if (!url.pathname.startsWith(`${API_PREFIX}/`))
        return this.send(res, record, httpError(501, "no such uri"));
      const segments = record.path.split("/").slice(1).map(decodeURIComponent);
      record.path = "/" + segments.join("/");
      const match = matchTemplate(segments);
      const handler = match && this.pve.handler(method, match.template);
      if (!match || !handler) {
        record.schemaErrors = {
          _root: `no ${method} ${record.path} in the schema extract or the emulator`,
        };
        // pve-http-server RESTHandler: an unknown method/path
        return this.send(
          res,
          record,
          httpError(501, `Method '${method} ${API_PREFIX}${record.path}' not implemented`),
        );
      }
      record.template = match.template;
      const body = await readBody(req);
      let upload: MultipartUpload | undefined;
      const params: Record<string, string> = Object.fromEntries(url.searchParams);
      if (match.template.endsWith("/upload") && method === "POST") {
        const boundary = multipartBoundary(req.headers["content-type"]);
        if (!boundary)
          throw httpError(
            500,
            `upload 'Content-Type '${req.headers["content-type"]}' not implemented`,
          );
        upload = parseMultipartUpload(body, boundary);
        Object.assign(params, upload.fields);
      } else Object.assign(params, parseBody(req.headers["content-type"], body));
      Object.assign(params, match.params);
      Object.assign(record.params, params);
      const errors = validateRequest(method, match.template, params);
      if (Object.keys(errors).length > 0) {
        record.schemaErrors = errors;
        throw paramError(errors);
      }
      const injected = this.takeInjection(method, match.template, record.path);
      if (injected?.act === "fail")
        throw new PveError(
          injected.status ?? 500,
          `${injected.message ?? "emulator: injected failure"}\n`,
        );
      if (injected?.act === "stall") stallMs = injected.ms ?? 0;
      const data = await handler({ params, user, upload });
      if (injected?.act === "drop") {
        record.status = 200; // carried out; the answer is lost
        record.heldMs = Infinity;
        res.socket?.destroy();
        return;
      }
      if (stallMs > 0) {
        record.status = 200; // carried out; only the answer is late
        record.heldMs = stallMs;
        await stall(res, stallMs);
      }
      this.send(res, record, undefined, data ?? null);
    } catch (e) {
      const err =
        e instanceof PveError
          ? e
          : new PveError(500, `${(e as Error).message.replace(/\n*$/, "\n")}`);
      this.send(res, record, err);
    }
  }

  /**
   * A WebSocket upgrade (pve-http-server `AnyEvent.pm` websocket_proxy): only `vncwebsocket`,
   * authenticated, validated and its ticket checked like the plain call; then the console.
   */
  private async upgrade(req: IncomingMessage, socket: Duplex): Promise<void> {
    const url = new URL(req.url ?? "/", "https://pve");
    const record: RecordedRequest = {
      at: Date.now(),
      method: "GET",
      path: url.pathname.slice(API_PREFIX.length),
      params: {},
      status: 0,
    };
    this.requests.push(record);
    const refuse = (status: number, message: string) => {
      record.status = status;
      socket.end(`HTTP/1.1 ${status} ${message.split("\n")[0]}\r\nContent-Length: 0\r\n\r\n`);
    };
    const auth = this.authenticate(req.headers.authorization);
    if ("error" in auth) {
      await sleep(this.authFailureDelayMs);
      return refuse(401, auth.error);
    }
    const segments = record.path.split("/").slice(1).map(decodeURIComponent);
    const match = matchTemplate(segments);
    if (req.method !== "GET" || match?.template !== "/nodes/{node}/qemu/{vmid}/vncwebsocket") {
      record.schemaErrors = { _root: `no websocket on ${req.method} ${record.path}` };
      return refuse(501, "no such uri");
    }
    record.template = match.template;
    Object.assign(record.params, Object.fromEntries(url.searchParams), match.params);
    const errors = validateRequest("GET", match.template, record.params);
    if (Object.keys(errors).length > 0) {
      record.schemaErrors = errors;
      return refuse(400, "Parameter verification failed.");
    }
    try {
      this.pve.checkConsoleTicket(record.params);
      const target = this.pve.consoleTarget(Number(record.params.vmid));
      record.status = 101;
      this.pve.consoles.attach(req, socket, Number(record.params.port), target);
    } catch (e) {
      refuse(e instanceof PveError ? e.status : 500, (e as Error).message);
    }
  }

  /**
   * pve-manager `PVE/HTTPServer.pm` auth_handler and pve-http-server `Formatter.pm`
   * `extract_auth_value`: `PVEAPIToken=USER@REALM!TOKENID=SECRET` (or a space after
   * `PVEAPIToken`), uri-unescaped. A bad token is "Authentication failed!", no credentials at
   * all "No ticket" (both 401).
   */
  private authenticate(header: string | undefined): { user: string } | { error: string } {
    const m = /^PVEAPIToken[= ](.+)$/.exec(header ?? "");
    if (!m) return { error: "No ticket" };
    let value: string;
    try {
      value = decodeURIComponent(m[1]);
    } catch {
      return { error: "Authentication failed!" };
    }
    const t = /^(\S+@\S+!\S+?)=(\S+)$/.exec(value);
    return t && t[1] === this.token.id && t[2] === this.token.secret
      ? { user: t[1] }
      : { error: "Authentication failed!" };
  }

  private takeInjection(method: string, template: string, concrete: string) {
    const i = this.injected.findIndex(
      (x) =>
        x.method === method &&
        (typeof x.path === "string"
          ? x.path === template || x.path === concrete
          : x.path.test(concrete)),
    );
    return i < 0 ? undefined : this.injected.splice(i, 1)[0];
  }

  private send(res: ServerResponse, record: RecordedRequest, err?: PveError, data?: unknown) {
    if (res.writableEnded || res.destroyed) return;
    if (!err) {
      record.status = 200;
      res.writeHead(200, { "content-type": JSON_CT });
      res.end(JSON.stringify({ data }));
      return;
    }
    record.status = err.status;
    // the reason phrase is the message's first line (HTTP::Response in AnyEvent.pm)
    res.statusMessage = err.message.split("\n")[0].replace(/[^\x20-\x7e]/g, "?");
    if (err.raw) {
      res.writeHead(err.status);
      res.end();
      return;
    }
    const body: Record<string, unknown> = { data: null };
    if (err.errors) body.errors = err.errors;
    if (versionAtLeast(this.pve.o.version, 8, 4)) body.message = err.message;
    res.writeHead(err.status, { "content-type": JSON_CT });
    res.end(JSON.stringify(body));
  }
}

/** Failure injection: each rule fires once, on the next matching request or task. */
export class FailureInjection {
  constructor(
    private readonly rules: InjectedResponse[],
    private readonly pve: PveNode,
  ) {}

  /**
   * The next `method` request on `path` (a schema path like `/nodes/{node}/qemu`, a concrete
   * path, or a RegExp on the concrete path) fails with `status` (default 500) and `message`,
   * before it does anything.
   */
  failNextRequest(method: string, path: PathMatch, message?: string, status = 500): void {
    this.rules.push({ method, path, act: "fail", status, message });
  }

  /**
   * The next `method` request on `path` is carried out, then its answer is held back for
   * `ms` (past the client's timeout): a POST that "times out after it succeeded".
   */
  stallNextResponse(method: string, path: PathMatch, ms: number): void {
    this.rules.push({ method, path, act: "stall", ms });
  }

  /**
   * The next `method` request on `path` is carried out, then its connection is reset instead of
   * answered: what the client sees as a network error after the server's success (proxmox-api
   * repeats the request at once, as it does after its timeout).
   */
  dropNextResponse(method: string, path: PathMatch): void {
    this.rules.push({ method, path, act: "drop" });
  }

  /** The next task of `type` (`imgcopy`, `qmcreate`, `qmstart`, …) ends with `exitstatus`. */
  failNextTask(type: string, exitstatus: string): void {
    this.pve.tasks.failNextTask(type, exitstatus);
  }

  /** Every task lasts at least `ms` from now on (slow tasks). */
  slowTasks(ms: number): void {
    this.pve.tasks.minDurationMs = ms;
  }
}

/** Matches `/`-split path segments against the schema paths: `{x}` takes any one segment. */
function matchTemplate(
  segments: string[],
): { template: string; params: Record<string, string> } | undefined {
  for (const template of pathTemplates()) {
    const parts = template.split("/").slice(1);
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    if (
      parts.every((p, i) => {
        const v = /^\{(.+)\}$/.exec(p);
        if (v) params[v[1]] = segments[i];
        return v ? segments[i] !== "" : p === segments[i];
      })
    )
      return { template, params };
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Form-encoded or JSON bodies (AnyEvent.pm accepts both); JSON booleans become 1/0. */
function parseBody(contentType: string | undefined, body: Buffer): Record<string, string> {
  if (body.length === 0) return {};
  const ct = (contentType ?? "").split(";")[0].trim();
  if (ct === "application/json") {
    const obj = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(obj).map(([k, v]) => [
        k,
        typeof v === "boolean" ? (v ? "1" : "0") : String(v),
      ]),
    );
  }
  if (ct === "" || ct === "application/x-www-form-urlencoded")
    return Object.fromEntries(new URLSearchParams(body.toString("utf8")));
  throw httpError(501, `unsupported content type '${ct}'`);
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split(".").map(Number);
  return a > major || (a === major && b >= minor);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits `ms`, or less when the client has gone away meanwhile. */
async function stall(res: ServerResponse, ms: number): Promise<void> {
  if (res.destroyed || res.socket?.destroyed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    res.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
