/**
 * The real thing: `make -C kernel`, buildImage, then boot the raw image and the VMDK in QEMU
 * (TCG, user-mode networking) and watch the serial console and HTTP. Needs the kernel to build.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildImage, BuildResult, parseImageConfig } from "../../image-builder";
import { freeLocalPort, readSerial, waitForSerial } from "../../infra/targets/local/qemu";
import { tempDir } from "./helpers";

const BODY = "served from the image's configuration block\n";
const PORT = 8080;
const config = parseImageConfig({
  network: { mode: "static", address: "10.0.2.15/24", gateway: "10.0.2.2" },
  http: { port: PORT, body: BODY },
  hostname: "boot-test",
});
const BOOT_DEADLINE_MS = 60_000;

const dir = tempDir();
let result: BuildResult;
beforeAll(async () => {
  result = await buildImage({ config, outDir: dir });
}, 300_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Polls `probe` until it yields a value; on timeout, fails with the serial console. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  log: string,
): Promise<T> {
  for (const end = Date.now() + BOOT_DEADLINE_MS; Date.now() < end;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; serial console:\n${readSerial(log).join("\n")}`);
}

describe.each(["raw", "vmdk"] as const)("the %s image boots in QEMU", (format) => {
  let qemu: ChildProcess | undefined;
  let hostPort: number;
  const log = path.join(dir, `serial-${format}.log`);
  const serial = () => readSerial(log).join("\n");

  beforeAll(async () => {
    hostPort = await freeLocalPort();
    qemu = spawn(
      "qemu-system-x86_64",
      [
        ...["-accel", "tcg", "-m", "4M", "-nodefaults", "-nographic", "-no-reboot"],
        ...["-serial", `file:${log}`],
        // snapshot=on: the guest's writes (none expected) never touch the artefact.
        ...["-drive", `file=${result[format].path},format=${format},if=virtio,snapshot=on`],
        ...["-netdev", `user,id=n0,hostfwd=tcp:127.0.0.1:${hostPort}-:${PORT}`],
        ...["-device", "virtio-net-pci,netdev=n0"],
      ],
      { stdio: "ignore" },
    );
    await waitForSerial(log, /^exo: ip /, BOOT_DEADLINE_MS);
  }, BOOT_DEADLINE_MS + 10_000);

  afterAll(() => {
    qemu?.kill("SIGKILL");
  });

  it("prints the image id and the configured address on the serial console", () => {
    const text = serial();
    expect(text).toContain("exo: mbr\n");
    expect(text).toContain(`exo: kernel ${result.imageId}\n`);
    expect(text).toContain("exo: config image\n");
    expect(text).toContain("exo: ip 10.0.2.15/24 gw 10.0.2.2 via static");
    expect(text).not.toContain("config: image block invalid");
  });

  it(
    "answers GET / with the configured body on the configured port",
    async () => {
      const body = await until(
        "HTTP on the forwarded port",
        async () => {
          const res = await fetch(`http://127.0.0.1:${hostPort}/`, {
            signal: AbortSignal.timeout(3000),
          });
          return res.ok ? res.text() : undefined;
        },
        log,
      );
      expect(body).toBe(BODY);
      expect(serial()).toContain(`exo: http listening on ${PORT}`);
    },
    BOOT_DEADLINE_MS + 10_000,
  );

  it("reports the image id as its build in /health", async () => {
    const res = await fetch(`http://127.0.0.1:${hostPort}/health`, {
      signal: AbortSignal.timeout(3000),
    });
    expect(await res.json()).toMatchObject({ build: result.imageId });
  });
});
