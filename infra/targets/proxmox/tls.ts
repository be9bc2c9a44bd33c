/**
 * How exoform trusts the Proxmox VE API's TLS certificate. A fresh PVE node serves a certificate
 * signed by its own cluster CA (`/etc/pve/pve-root-ca.pem`), which no system trust store knows.
 * Per connection (an undici Agent), never process-wide (`NODE_TLS_REJECT_UNAUTHORIZED` is left
 * alone):
 *
 * - `system`: the system's CAs and host name check (a certificate from a public CA, e.g. ACME).
 * - `ca`: the given CA (PEM) instead, host name still checked.
 * - `fingerprint`: only a server certificate whose SHA-256 fingerprint is the pinned one
 *   (`pvenode cert info` prints it); the chain is not checked, the pin replaces it.
 * - `insecure`: anything; only by an explicit setting.
 */
import type * as tls from "node:tls";

export type PveTls =
  | { readonly mode: "system" }
  | { readonly mode: "ca"; /** PEM text of the CA(s). */ readonly caPem: string }
  | {
      readonly mode: "fingerprint";
      /** 64 hex digits, any case, colons optional. */ readonly sha256: string;
    }
  | { readonly mode: "insecure" };

/** A SHA-256 fingerprint as `AA:BB:…` (Node's `fingerprint256` form); throws when malformed. Pure. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/[:\s]/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex))
    throw new Error(
      `a SHA-256 fingerprint is 64 hex digits, optionally in colon-separated pairs (got ${JSON.stringify(text)})`,
    );
  return hex.match(/../g)!.join(":");
}

/**
 * Why the peer certificate does not match the pin, or undefined when it does. Pure (the
 * certificate as Node's `getPeerCertificate()` returns it).
 */
export function pinProblem(
  cert: Pick<tls.PeerCertificate, "fingerprint256"> | undefined,
  pinned: string,
): string | undefined {
  const want = normalizeFingerprint(pinned);
  if (!cert?.fingerprint256) return "the server sent no certificate";
  if (cert.fingerprint256.toUpperCase() === want) return undefined;
  return `the server's certificate has SHA-256 fingerprint ${cert.fingerprint256}, not the pinned ${want} (exoform:proxmox.tls.fingerprint)`;
}

/**
 * The `connect` options of an undici Agent for `setting`, except the pin check, which needs a
 * connector (see `pveDispatcher`). Pure.
 */
export function connectOptionsFor(setting: PveTls): tls.ConnectionOptions {
  switch (setting.mode) {
    case "system":
      return {};
    case "ca":
      return { ca: setting.caPem };
    case "fingerprint":
    case "insecure":
      return { rejectUnauthorized: false };
  }
}

/**
 * An undici Agent (undici 6, the one proxmox-api's fetch uses) that connects as `setting` says.
 * For a pin, the TLS handshake accepts any chain and the connector then refuses a socket whose
 * certificate is not the pinned one, before any request (and the token) is written to it;
 * every connection does a full handshake.
 */
export function pveDispatcher(setting: PveTls): import("undici").Dispatcher {
  const undici = require("undici") as typeof import("undici");
  const options = connectOptionsFor(setting);
  if (setting.mode !== "fingerprint") return new undici.Agent({ connect: options });
  // No TLS session resumption: a resumed session may not carry the peer certificate, and every
  // connection must show the pinned one.
  const base = undici.buildConnector({ ...options, maxCachedSessions: 0 });
  const connect: import("undici").buildConnector.connector = (opts, callback) =>
    base(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error("no socket"), null);
      const problem =
        "getPeerCertificate" in socket
          ? pinProblem((socket as tls.TLSSocket).getPeerCertificate(), setting.sha256)
          : "the endpoint is not https, a fingerprint cannot be checked";
      if (!problem) return callback(null, socket);
      socket.destroy();
      callback(new Error(`TLS: ${problem}`), null);
    });
  return new undici.Agent({ connect });
}
