/**
 * The serial console over the API, with a token only, as PVE offers it:
 *
 * - `POST /nodes/{node}/qemu/{vmid}/termproxy` (qemu-server `src/PVE/API2/Qemu.pm` termproxy)
 *   starts a `vncproxy` task running termproxy (pve-xtermjs) around `qm terminal` on a port
 *   from 5900 up and answers `{user, ticket, port, upid}`.
 * - `GET …/vncwebsocket?port=&vncticket=` with `Upgrade: websocket` is upgraded by
 *   pve-http-server (`AnyEvent.pm` websocket_proxy) and joined to that port. The client then
 *   sends `<user>:<ticket>\n`; termproxy answers `OK` and starts `qm terminal`; from then on
 *   the guest's serial output flows to the client as binary frames. Client messages are
 *   `0:<len>:<data>` (input), `1:<cols>:<rows>:` (resize) and `2` (ping); the emulator drops
 *   input. termproxy serves one connection; the task ends when it closes.
 *
 * Like a `serial0: socket` chardev with nobody attached, the console shows only what the guest
 * prints after attaching: the emulator tails the VM's serial log from that moment. A stopped
 * VM makes `qm terminal` fail at once ("VM N not running"), so the connection closes after OK.
 *
 * WebSocket framing (RFC 6455) is written here: small, and no server library is installed.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import type { Duplex } from "node:stream";
import { TaskRunner } from "./tasks";

interface Proxy {
  readonly vmid: number;
  readonly user: string;
  readonly ticket: string;
  readonly port: number;
  attached?: boolean;
  finish?: (error?: string) => void;
}

/** What the console needs of a VM: whether it runs, and where its serial output goes. */
export interface ConsoleTarget {
  readonly vmid: number;
  running(): boolean;
  readonly serialLog: string;
}

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export class SerialConsoles {
  private readonly proxies = new Map<number, Proxy>();
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly tasks: TaskRunner) {}

  /** termproxy: a port (PVE::Tools::next_vnc_port) and a ticket for `vmid`. */
  open(vmid: number, user: string) {
    let port = 5900;
    while (this.proxies.has(port)) port++;
    // PVE::AccessControl::assemble_vnc_ticket: a signed ticket; any opaque text does here
    const proxy: Proxy = {
      vmid,
      user,
      port,
      ticket: `PVEVNC:${randomBytes(24).toString("base64url")}`,
    };
    this.proxies.set(port, proxy);
    // termproxy gives up when no client connects within 10 s
    const unused = setTimeout(() => {
      if (!proxy.attached) proxy.finish?.("connection timed out");
    }, 10_000);
    unused.unref();
    const upid = this.tasks.start(
      "vncproxy",
      String(vmid),
      user,
      () =>
        new Promise<void>((resolve, reject) => {
          proxy.finish = (error) => {
            this.proxies.delete(port);
            if (error) reject(new Error(error));
            else resolve();
          };
        }),
    );
    return { user, ticket: proxy.ticket, port, upid };
  }

  /**
   * vncwebsocket: PVE::AccessControl::verify_vnc_ticket — the ticket must be the one issued
   * for this port and VM. Returns an error text, or undefined when the upgrade may go ahead.
   */
  check(vmid: number, port: number, ticket: string): string | undefined {
    const proxy = this.proxies.get(port);
    if (!proxy || proxy.ticket !== ticket || proxy.vmid !== vmid)
      return "permission denied - invalid vnc ticket";
    return undefined;
  }

  /** Completes the WebSocket handshake and runs termproxy's protocol on `socket`. */
  attach(
    req: { headers: Record<string, string | string[] | undefined> },
    socket: Duplex,
    port: number,
    vm: ConsoleTarget,
  ) {
    const proxy = this.proxies.get(port)!;
    proxy.attached = true;
    const key = String(req.headers["sec-websocket-key"] ?? "");
    const accept = createHash("sha1")
      .update(key + WS_GUID)
      .digest("base64");
    const protocols = String(req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((p) => p.trim());
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n` +
        (protocols.includes("binary") ? "Sec-WebSocket-Protocol: binary\r\n" : "") +
        "\r\n",
    );
    this.sockets.add(socket);
    let buffered = Buffer.alloc(0);
    let authenticated = false;
    let tail: NodeJS.Timeout | undefined;
    let closed = false;
    const close = (code: number, error?: string) => {
      if (closed) return;
      closed = true;
      clearInterval(tail);
      const reason = Buffer.alloc(2);
      reason.writeUInt16BE(code);
      if (!socket.destroyed) socket.end(frame(0x8, reason));
      this.sockets.delete(socket);
      proxy.finish?.(error);
    };
    const startTail = () => {
      let offset = fileSize(vm.serialLog);
      tail = setInterval(() => {
        if (!vm.running()) return close(1000);
        const size = fileSize(vm.serialLog);
        if (size <= offset) return;
        const fd = fs.openSync(vm.serialLog, "r");
        const chunk = Buffer.alloc(size - offset);
        fs.readSync(fd, chunk, 0, chunk.length, offset);
        fs.closeSync(fd);
        offset = size;
        socket.write(frame(0x2, chunk));
      }, 50);
    };
    socket.on("data", (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      for (;;) {
        const msg = readFrame(buffered);
        if (!msg) return;
        buffered = buffered.subarray(msg.length);
        if (msg.opcode === 0x8) return close(1000);
        if (msg.opcode === 0x9) {
          socket.write(frame(0xa, msg.payload));
          continue;
        }
        if (authenticated) continue; // input, resize and ping messages: the guest reads no input
        // termproxy: the first message is "<user>:<ticket>\n"
        if (msg.payload.toString("utf8") !== `${proxy.user}:${proxy.ticket}\n`)
          return close(1008, "termproxy: authentication failed");
        authenticated = true;
        socket.write(frame(0x2, Buffer.from("OK")));
        if (!vm.running()) return close(1000, `VM ${vm.vmid} not running`);
        startTail();
      }
    });
    socket.on("close", () => close(1006));
    socket.on("error", () => close(1006));
  }

  /** Closes every console connection (the emulator's stop). */
  closeAll(): void {
    for (const s of this.sockets) s.destroy();
    for (const p of this.proxies.values()) p.finish?.();
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** One unmasked server frame (FIN set). */
function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const header =
    n < 126
      ? Buffer.from([0x80 | opcode, n])
      : n < 65536
        ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(n)]);
  return Buffer.concat([header, payload]);
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** The first complete (masked) client frame in `buf`, or undefined while it is incomplete. */
function readFrame(buf: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buf.length < 2) return undefined;
  const opcode = buf[0] & 0x0f;
  const masked = (buf[1] & 0x80) !== 0;
  let len = buf[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const maskAt = at;
  if (masked) at += 4;
  if (buf.length < at + len) return undefined;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[maskAt + (i % 4)];
  return { opcode, payload, length: at + len };
}
