/**
 * Errors of the Proxmox target. proxmox-api throws plain `Error`s whose message carries the
 * method, the full URL (GET/DELETE parameters included) and the JSON body; PVE puts its reason
 * in the status line (400 "Parameter verification failed.", 403 "Permission check failed (…)",
 * 500 with the die text; pve-http-server `AnyEvent.pm`, `Formatter.pm`). `parseClientError`
 * turns such a message back into fields; `PveApiError` says it as one sentence, with every
 * secret removed.
 */

/** What a failed API call was, as far as the client's message tells. */
export interface ApiFailure {
  readonly method: string;
  /** The API path, without scheme, host or query string. */
  readonly path: string;
  /** The HTTP status; undefined when no answer came (connection refused, TLS, timeout). */
  readonly status?: number;
  /** The status line's reason phrase, or the network error's cause. */
  readonly reason: string;
  /** Per-parameter errors of a 400 (`{"errors": {param: message}}`). */
  readonly paramErrors?: Readonly<Record<string, string>>;
}

// The reason may itself contain ": "; the body is JSON.stringify output (no spaces), so the
// last ": {" (or " return: {") starts it.
const HTTP_FAILURE =
  /^(GET|POST|PUT|DELETE) (\S+) (?:return Error|connection failed with) (\d{3}) ([^]*)(?:: | return: )(\{[^]*\})$/;
const NETWORK_FAILURE = /^FaILED to call (GET|POST|PUT|DELETE) (\S+)(?: cause by:([^]*))?$/;

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split("?")[0];
  }
}

/**
 * The fields of a proxmox-api error message, or undefined when the message is not one of its
 * formats (`<METHOD> <url> return Error <status> <reason>: <json>`, `<METHOD> <url> connection
 * failed with <status> <reason> return: <json>`, `FaILED to call <METHOD> <url> cause by:<why>`).
 * Pure.
 */
export function parseClientError(message: string): ApiFailure | undefined {
  const http = HTTP_FAILURE.exec(message);
  if (http) {
    let paramErrors: Record<string, string> | undefined;
    try {
      const body = JSON.parse(http[5]) as { errors?: unknown };
      if (body && typeof body.errors === "object" && body.errors !== null)
        paramErrors = Object.fromEntries(
          Object.entries(body.errors as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
        );
    } catch {
      // A body that is not JSON adds nothing the reason phrase does not say.
    }
    return {
      method: http[1],
      path: pathOf(http[2]),
      status: Number(http[3]),
      reason: http[4].trim(),
      ...(paramErrors && Object.keys(paramErrors).length > 0 && { paramErrors }),
    };
  }
  const net = NETWORK_FAILURE.exec(message);
  if (net)
    return {
      method: net[1],
      path: pathOf(net[2]),
      reason: net[3]?.trim() || "no answer (timeout or connection failure)",
    };
  return undefined;
}

/** `text` with every occurrence of each secret replaced by `[secret]`. Pure. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join("[secret]");
  }
  return out;
}

/** A failed Proxmox VE API call, as one readable sentence; never carries a secret. */
export class PveApiError extends Error {
  readonly failure: ApiFailure | undefined;

  constructor(
    /** What exoform was doing, e.g. "upload exoform-….raw to local". */
    readonly doing: string,
    cause: unknown,
    secrets: readonly string[],
  ) {
    const raw = cause instanceof Error ? cause.message : String(cause);
    const failure = parseClientError(raw);
    super(redact(describeFailure(doing, failure, raw), secrets));
    this.name = "PveApiError";
    this.failure = failure;
  }

  /** The HTTP status PVE answered, undefined when no answer came. */
  get status(): number | undefined {
    return this.failure?.status;
  }

  /** True when no HTTP answer came (timeout, refused, TLS): the call may or may not have run. */
  get noAnswer(): boolean {
    return this.failure !== undefined && this.failure.status === undefined;
  }
}

/** The sentence for a failure, with a hint for the statuses that have an obvious cause. Pure. */
export function describeFailure(
  doing: string,
  failure: ApiFailure | undefined,
  raw: string,
): string {
  if (!failure) return `${doing}: ${raw}`;
  const call = `${failure.method} ${failure.path}`;
  if (failure.status === undefined) {
    // Node's own advice for an untrusted certificate (--use-system-ca) is not ours to give.
    const untrusted = /self[- ]signed|unable to (get|verify)|certificate/i.test(failure.reason);
    const tlsHint = untrusted
      ? " — trust the API's certificate with exoform:proxmox.tls.caFile (a copy of /etc/pve/pve-root-ca.pem) or tls.fingerprint (`pvenode cert info`)"
      : "";
    return `${doing}: ${call}: ${failure.reason.replace(/;?\s*try running Node\.js with --use-system-ca\.?/i, "")}${tlsHint}`;
  }
  const params = failure.paramErrors
    ? ` (${Object.entries(failure.paramErrors)
        .map(([k, v]) => `${k}: ${v}`)
        .join("; ")})`
    : "";
  const hint =
    failure.status === 401
      ? " — check exoform:proxmox.tokenId and the token secret (pulumi config set --secret --path exoform:proxmox.tokenSecret …)"
      : failure.status === 403
        ? " — the API token lacks a privilege for this call (see docs/targets/proxmox.md, Permissions)"
        : "";
  return `${doing}: ${call} answered ${failure.status} ${failure.reason}${params}${hint}`;
}
