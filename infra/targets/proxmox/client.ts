/**
 * A session with one Proxmox VE API: proxmox-api for the JSON calls, and the same TLS dispatcher
 * and token header for the two calls it cannot make (the multipart upload, the console
 * websocket). Every failure becomes a PveApiError without secrets; every answer used is
 * validated with a zod schema. A session prints as `PveSession(<endpoint>)`: neither
 * `util.inspect` nor JSON.stringify reveals the token (proxmox-api's own client would).
 */
import * as util from "node:util";
import type { z } from "zod";
import { PveApiError } from "./errors";
import { PveTls, pveDispatcher } from "./tls";

/** Everything needed to reach the API; plain data, stored (secret-marked) in the state. */
export interface PveConnection {
  /** `https://host:port` (settings `endpoint`). */
  readonly endpoint: string;
  /** `USER@REALM!TOKENID`. */
  readonly tokenId: string;
  /** The token's secret (a lower-case UUID). A Pulumi secret wherever it is stored. */
  readonly tokenSecret: string;
  readonly tls: PveTls;
  /** Per-request timeout of JSON calls, ms (proxmox-api's default 60000). */
  readonly queryTimeoutMs?: number;
}

type ProxmoxApi = import("proxmox-api").Proxmox.Api;
type FetchInit = NonNullable<Parameters<typeof fetch>[1]>;

export class PveSession {
  readonly #api: ProxmoxApi;
  readonly #secret: string;
  readonly #authorization: string;
  readonly #dispatcher: import("undici").Dispatcher;
  /** `https://host:port`, without a trailing slash. */
  readonly endpoint: string;

  constructor(connection: PveConnection) {
    const undici = require("undici") as typeof import("undici");
    const { proxmoxApi } = require("proxmox-api") as typeof import("proxmox-api");
    const url = new URL(connection.endpoint);
    this.endpoint = `${url.protocol}//${url.host}`;
    this.#secret = connection.tokenSecret;
    this.#authorization = `PVEAPIToken=${connection.tokenId}=${connection.tokenSecret}`;
    this.#dispatcher = pveDispatcher(connection.tls);
    const dispatcher = this.#dispatcher;
    try {
      this.#api = proxmoxApi({
        host: url.hostname,
        ...(url.port && { port: Number(url.port) }),
        schema: url.protocol === "http:" ? "http" : "https",
        tokenID: connection.tokenId,
        tokenSecret: connection.tokenSecret,
        queryTimeout: connection.queryTimeoutMs ?? 60_000,
        fetch: (u, init) => undici.fetch(u, { ...init, dispatcher }),
      });
    } catch (e) {
      throw new PveApiError(`connect to ${this.endpoint}`, e, [connection.tokenSecret]);
    }
  }

  /**
   * Runs one JSON call and validates its answer. `doing` names the step for messages
   * ("create VM 104 on pve1"). Throws PveApiError (call failed) or Error (unexpected answer).
   */
  async call<S extends z.ZodType>(
    doing: string,
    schema: S,
    request: (api: ProxmoxApi) => Promise<unknown>,
  ): Promise<z.infer<S>> {
    let answer: unknown;
    try {
      answer = await request(this.#api);
    } catch (e) {
      throw new PveApiError(doing, e, [this.#secret]);
    }
    const parsed = schema.safeParse(answer);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "(answer)"}: ${i.message}`)
      .join("; ");
    throw new Error(
      this.redact(
        `${doing}: unexpected answer from ${this.endpoint} (${problems}): ${JSON.stringify(answer)?.slice(0, 300)}`,
      ),
    );
  }

  /** `fetch` of an API path (`/api2/json/…`) with the token and the TLS setting. */
  async fetchApi(path: string, init: FetchInit): Promise<Response> {
    const undici = require("undici") as typeof import("undici");
    const headers = new Headers(init.headers);
    headers.set("Authorization", this.#authorization);
    const response = await undici.fetch(`${this.endpoint}${path}`, {
      ...(init as object),
      headers: Object.fromEntries(headers.entries()),
      dispatcher: this.#dispatcher,
    } as import("undici").RequestInit);
    return response as unknown as Response;
  }

  /** A websocket to an API path (`wss://…/api2/json/…`) with the token and the TLS setting. */
  openWebSocket(pathAndQuery: string, protocols: string[]): import("undici").WebSocket {
    const undici = require("undici") as typeof import("undici");
    const wsUrl = `${this.endpoint.replace(/^http/, "ws")}${pathAndQuery}`;
    return new undici.WebSocket(wsUrl, {
      protocols,
      dispatcher: this.#dispatcher,
      headers: { Authorization: this.#authorization },
    });
  }

  /** Removes the secret from a text that came from the API or the network (e.g. a task log). */
  redact(text: string): string {
    return text.split(this.#secret).join("[secret]");
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  toString(): string {
    return `PveSession(${this.endpoint})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [util.inspect.custom](): string {
    return this.toString();
  }
}

/** Opens a session, runs `work`, closes it (its sockets), also on failure. */
export async function withSession<T>(
  connection: PveConnection,
  work: (session: PveSession) => Promise<T>,
): Promise<T> {
  const session = new PveSession(connection);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}
