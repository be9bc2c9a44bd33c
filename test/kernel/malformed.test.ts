/**
 * Robustness on the wire: thousands of damaged frames, then a ping flood; the guest must drop
 * what is malformed and keep answering. The injector (host/inject.c) writes raw frames to the tap
 * device from inside the guest's namespace.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BootSoftware, buildKernel, kernelDir } from "../helpers/kernel-image";
import { GATEWAY, stopAllGuests, TestGuest, withGuest } from "../helpers/guest";
import { describeAsRoot } from "../helpers/privilege";

const IP = "10.0.2.15";

let boot: BootSoftware;
let dir: string;
let injector: string;

beforeAll(async () => {
  boot = await buildKernel();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-inject-"));
  injector = path.join(dir, "inject");
  const sources = [
    path.join(__dirname, "host", "inject.c"),
    path.join(kernelDir, "net", "checksum.c"),
  ];
  execFileSync("gcc", [
    "-O1",
    "-Wall",
    "-Wextra",
    "-Wno-comment",
    "-Werror",
    `-I${kernelDir}`,
    ...sources,
    "-o",
    injector,
  ]);
});
afterAll(async () => {
  await stopAllGuests();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A guest with a static address that has answered a first ping. */
function withAnsweringGuest(body: (g: TestGuest) => Promise<void>): Promise<void> {
  return withGuest(
    boot,
    { smbiosSerial: `exo:net=static;ip=${IP}/24;gw=${GATEWAY}` },
    async (g) => {
      await g.waitFor("exo: ip");
      expect(await g.waitForEcho(IP)).toBe(true);
      await body(g);
    },
  );
}

describeAsRoot("kernel under bad and heavy traffic", () => {
  test("drops damaged frames of every layer and keeps answering pings", () =>
    withAnsweringGuest(async (g) => {
      for (const seed of ["1", "2", "3"]) {
        const out = await g.exec([injector, "tap0", g.mac, IP, GATEWAY, "3000", seed]);
        expect(out).toMatch(/^sent [1-9]/);
        expect(await g.ping(IP, 56, 2)).toBe(2);
      }
      expect(await g.ping(IP, 1472, 3)).toBe(3);
    }));

  test("survives a ping flood of full-size packets without losing its rings", () =>
    withAnsweringGuest(async (g) => {
      expect(await g.ping(IP, 1472, 2000, ["-f"])).toBeGreaterThan(1900);
      expect(await g.ping(IP, 56, 3)).toBe(3);
    }));
});
