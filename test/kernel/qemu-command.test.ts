/** The pure parts of infra/targets/local/qemu.ts and netns.ts: command lines and addressing. */
import { dnsmasqCommand, netnsCommand, prefixToMask } from "../../infra/targets/local/netns";
import { qemuCommand, readSerial } from "../../infra/targets/local/qemu";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const files = {
  disk: "/d/disk,1.raw",
  pidFile: "/d/q.pid",
  qmpSocket: "/d/qmp.sock",
  serialLog: "/d/serial.log",
};

test("QEMU on a tap inside a namespace: TCG, 4 MiB, legacy-capable virtio-net without option ROM", () => {
  const argv = qemuCommand({
    ...files,
    netns: "exo-t-1",
    net: { kind: "tap", mac: "52:54:00:00:00:01" },
  });
  expect(argv.slice(0, 5)).toEqual(["ip", "netns", "exec", "exo-t-1", "qemu-system-x86_64"]);
  const opts = argv.join(" ");
  expect(opts).toContain("-accel tcg -m 4M -nodefaults");
  expect(opts).toContain("-drive file=/d/disk,,1.raw,format=raw,if=virtio");
  expect(opts).toContain("-netdev tap,id=n0,ifname=tap0,script=no,downscript=no");
  expect(opts).toContain("-device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01,romfile=");
  expect(opts).not.toContain("disable-legacy");
  expect(opts).not.toContain("-smbios");
});

test("modern-only virtio, SMBIOS serial with commas escaped, user networking with a forward", () => {
  const argv = qemuCommand({
    ...files,
    accel: "kvm",
    memoryMb: 16,
    modernVirtioOnly: true,
    smbiosSerial: "exo:net=static;ip=10.0.0.2/24,x",
    net: { kind: "user", mac: "52:54:00:00:00:02", hostPort: 8080, guestPort: 80 },
  });
  expect(argv[0]).toBe("qemu-system-x86_64");
  const opts = argv.join(" ");
  expect(opts).toContain("-accel kvm -m 16M");
  expect(opts).toContain("-netdev user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80");
  expect(opts).toContain("romfile=,disable-legacy=on,disable-modern=off");
  expect(argv.slice(-2)).toEqual(["-smbios", "type=1,serial=exo:net=static;ip=10.0.0.2/24,,x"]);
});

test("dnsmasq serves one fixed lease on the namespace's tap only, with its own files", () => {
  const argv = dnsmasqCommand(
    { name: "exo-t-1", dir: "/d", hostCidr: "10.0.2.2/24" },
    { mac: "52:54:00:00:00:01", address: "10.0.2.15", leaseSeconds: 120 },
  );
  expect(argv.slice(0, 5)).toEqual(netnsCommand("exo-t-1", ["dnsmasq"]));
  expect(argv).toEqual(
    expect.arrayContaining([
      "--conf-file=/dev/null",
      "--interface=tap0",
      "--bind-interfaces",
      "--port=0",
      "--dhcp-range=10.0.2.15,static,255.255.255.0,120",
      "--dhcp-host=52:54:00:00:00:01,10.0.2.15",
      "--dhcp-option=option:router,10.0.2.2",
      "--pid-file=/d/dnsmasq.pid",
      "--dhcp-leasefile=/d/dnsmasq.leases",
    ]),
  );
});

test.each([
  [0, "0.0.0.0"],
  [8, "255.0.0.0"],
  [20, "255.255.240.0"],
  [32, "255.255.255.255"],
])("prefix /%i is netmask %s", (prefix, mask) => {
  expect(prefixToMask(prefix)).toBe(mask);
});

test("serial log lines lose CRs and the BIOS's escape sequences", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-serial-"));
  const log = path.join(dir, "serial.log");
  expect(readSerial(log)).toEqual([]);
  fs.writeFileSync(log, "\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS\r\nBooting..\r\nexo: mbr\r\n");
  expect(readSerial(log)).toEqual(["SeaBIOS", "Booting..", "exo: mbr", ""]);
  fs.rmSync(dir, { recursive: true });
});
