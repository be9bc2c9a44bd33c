/**
 * Proxmox's error answers. pve-http-server `PVE::APIServer::AnyEvent` puts the first line of
 * the die text into the HTTP reason phrase; the JSON formatter (`Formatter/Standard.pm`) sends
 * `{"data":null}` plus `errors` for parameter errors, and since libpve-http-server-perl 5.2.0
 * (PVE 8.4) also `message`.
 */
import type { ParamErrors } from "./schema";

export class PveError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: ParamErrors,
    /** Sent by the HTTP server itself (`$self->error`): no JSON body, only the status line. */
    readonly raw = false,
  ) {
    super(message);
  }
}

/** pve-http-server `AnyEvent.pm` `$self->error($reqstate, $code, $msg)`. */
export function httpError(status: number, message: string): PveError {
  return new PveError(status, message, undefined, true);
}

/** pve-common `raise_param_exc`: 400 "Parameter verification failed." with `errors`. */
export function paramError(errors: ParamErrors): PveError {
  return new PveError(400, "Parameter verification failed.\n", errors);
}

/** A `die "…\n"` in an API handler: 500 with the text. */
export function die(message: string): PveError {
  return new PveError(500, message.endsWith("\n") ? message : `${message}\n`);
}
