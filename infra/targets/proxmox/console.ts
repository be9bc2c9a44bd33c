/**
 * The VM's serial console over the API, with nothing but the token: `POST
 * /nodes/{node}/qemu/{vmid}/termproxy {serial: serial0}` starts a termproxy (pve-xtermjs) that
 * runs `qm terminal` and answers `{port, ticket, user, upid}`; `GET …/vncwebsocket?port=&vncticket=`
 * upgrades to a websocket to it (pve-manager `API2/Qemu.pm`, both allow tokens). The client
 * first sends `<user>:<ticket>\n`, the proxy answers `OK`, then terminal output flows. Client
 * messages are `0:<len>:<data>` (input), `1:<cols>:<rows>:` (resize) and `2` (ping).
 *
 * QEMU drops serial output while no client is attached: the console shows what the guest
 * printed from the moment of attaching on. exoform attaches right after the start task, which
 * is early enough for the `exo: ip` line of a DHCP guest (printed after the DHCP exchange).
 */
import { z } from "zod";
import type { PveSession } from "./client";

const TermproxySchema = z.looseObject({
  port: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  ticket: z.string().min(1),
  user: z.string().min(1),
});

/** The address of the last `exo: ip <a.b.c.d>/<p> …` line of console text, if any. Pure. */
export function addressFromConsole(text: string): string | undefined {
  const matches = [...text.matchAll(/^exo: ip ((?:\d{1,3}\.){3}\d{1,3})\/\d{1,2}\b/gm)];
  return matches.at(-1)?.[1];
}

/** Console text as lines: `\r` removed, the proxy's `OK` handshake answer dropped. Pure. */
export function cleanConsoleText(raw: string): string {
  return raw.replace(/^OK/, "").replace(/\r/g, "");
}

export interface ConsoleWatch {
  /** Everything received so far (cleaned). */
  text(): string;
  /** Resolves when `predicate(text)` is truthy, rejects after `timeoutMs` or when the console closes. */
  until<T>(predicate: (text: string) => T | undefined, timeoutMs: number): Promise<T>;
  close(): void;
}

/** Attaches to the serial console of `vmid`; the caller must close() it. */
export async function attachConsole(
  session: PveSession,
  node: string,
  vmid: number,
): Promise<ConsoleWatch> {
  const proxy = await session.call(
    `open the serial console of VM ${vmid}`,
    TermproxySchema,
    (api) =>
      api.nodes
        .$(node)
        .qemu.$(vmid)
        .termproxy.$post({ serial: "serial0" as never }),
  );
  const query = new URLSearchParams({ port: String(proxy.port), vncticket: proxy.ticket });
  const path = `/api2/json/nodes/${encodeURIComponent(node)}/qemu/${vmid}/vncwebsocket?${query}`;
  const ws = session.openWebSocket(path, ["binary"]);
  ws.binaryType = "arraybuffer";
  let raw = "";
  let closed: string | undefined;
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  const decoder = new TextDecoder();
  ws.addEventListener("open", () => ws.send(`${proxy.user}:${proxy.ticket}\n`));
  ws.addEventListener("message", (event) => {
    const data = event.data as ArrayBuffer | string;
    raw += typeof data === "string" ? data : decoder.decode(data, { stream: true });
    wake();
  });
  ws.addEventListener("error", (event) => {
    closed = `console websocket failed: ${session.redact(String((event as { message?: string }).message ?? "error"))}`;
    wake();
  });
  ws.addEventListener("close", (event) => {
    closed ??= `console closed (${event.code}${event.reason ? ` ${session.redact(event.reason)}` : ""})`;
    wake();
  });
  const watch: ConsoleWatch = {
    text: () => cleanConsoleText(raw),
    until: (predicate, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = predicate(watch.text());
          if (found !== undefined) return done(() => resolve(found));
          if (closed) return done(() => reject(new Error(closed)));
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(
                  `nothing matching on the console of VM ${vmid} within ${timeoutMs / 1000} s`,
                ),
              ),
            ),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      }),
    close: () => {
      closed ??= "closed by exoform";
      ws.close();
    },
  };
  return watch;
}

/**
 * The address a DHCP guest reports on its console (`exo: ip …`), waiting up to `timeoutMs`.
 * Throws with the console text seen so far when the line does not come.
 */
export async function learnAddressFromConsole(
  session: PveSession,
  vm: { node: string; vmid: number },
  timeoutMs: number,
): Promise<string> {
  const watch = await attachConsole(session, vm.node, vm.vmid);
  try {
    return await watch.until(addressFromConsole, timeoutMs);
  } catch (e) {
    const seen = watch
      .text()
      .trim()
      .split("\n")
      .slice(-10)
      .map((l) => `  | ${l}`)
      .join("\n");
    throw new Error(
      `VM ${vm.vmid} (DHCP) did not report its address (an "exo: ip" console line): ${(e as Error).message}` +
        (seen ? `\n  console so far:\n${seen}` : "\n  (the console showed nothing)"),
    );
  } finally {
    watch.close();
  }
}

/** What the console shows during `listenMs` (the guest's output from now on). */
export async function readConsoleFor(
  session: PveSession,
  vm: { node: string; vmid: number },
  listenMs: number,
): Promise<string> {
  const watch = await attachConsole(session, vm.node, vm.vmid);
  try {
    await watch.until(() => undefined, listenMs).catch(() => undefined);
    return watch.text();
  } finally {
    watch.close();
  }
}
