/**
 * The kernel on real QEMU (TCG, 4 MiB), each guest in a network namespace of its own: serial
 * markers, DHCP from dnsmasq, static configuration from SMBIOS and from the image block, ARP,
 * ICMP echo up to the MTU, both virtio-net interfaces, and the fallbacks on bad configuration.
 */
import { BootSoftware, buildKernel, configBlock } from "../helpers/kernel-image";
import { DHCP_ADDRESS, GATEWAY, stopAllGuests, withGuest } from "../helpers/guest";
import { describeAsRoot } from "../helpers/privilege";

const STATIC_IP = "10.0.2.15";
const SMBIOS_STATIC = `exo:net=static;ip=${STATIC_IP}/24;gw=${GATEWAY}`;

let boot: BootSoftware;
beforeAll(async () => {
  boot = await buildKernel();
});
afterAll(stopAllGuests);

describeAsRoot("kernel on QEMU", () => {
  test("boots through every serial marker and takes a DHCP lease from dnsmasq", async () => {
    const block = configBlock("net=dhcp\nhostname=exo-test\n\n<h1>hi</h1>");
    await withGuest(boot, { block, dhcp: true }, async (g) => {
      await g.waitFor("exo: mbr");
      await g.waitFor("exo: long mode");
      await g.waitFor(`exo: kernel ${g.imageId}`);
      await g.waitFor(new RegExp(`^exo: pci 00:0[0-9a-f]\\.0 virtio-net legacy mac ${g.mac}$`));
      await g.waitFor(/^exo: config dhcp$/);
      await g.waitFor(`exo: ip ${DHCP_ADDRESS}/24 gw ${GATEWAY} via dhcp`);
      await g.waitFor("exo: http listening on 80");
      // In the order of docs/boot-contract.md, also with DHCP (the address comes last).
      const markers = ["exo: mbr", "exo: long mode", "exo: kernel ", "exo: pci ", "exo: config "];
      markers.push("exo: ip ", "exo: http listening on ");
      const seen = g.serial().flatMap((l) => markers.filter((m) => l.startsWith(m)));
      expect(seen).toEqual(markers);
      expect(await g.exec(["cat", `${g.dir}/dnsmasq.leases`])).toContain(
        `${g.mac} ${DHCP_ADDRESS} exo-test`,
      );
      expect(await g.ping(DHCP_ADDRESS)).toBe(3);
    });
  });

  test("takes a static address from SMBIOS, resolves the gateway by ARP, answers 56- and 1472-byte pings", async () => {
    await withGuest(boot, { smbiosSerial: SMBIOS_STATIC }, async (g) => {
      await g.waitFor(/^exo: config smbios$/);
      await g.waitFor(`exo: ip ${STATIC_IP}/24 gw ${GATEWAY} via static`);
      // The guest's ARP request for its gateway (us) is what puts it in our neighbour table,
      // before we have sent it anything.
      let neigh = "";
      for (let i = 0; i < 50 && !neigh.includes(g.mac); i++) {
        neigh = await g.exec(["ip", "neigh", "show", STATIC_IP]);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(neigh).toContain(`lladdr ${g.mac}`);
      expect(await g.ping(STATIC_IP, 56)).toBe(3);
      expect(await g.ping(STATIC_IP, 1472)).toBe(3);
      expect(await g.ping(STATIC_IP, 1473, 2, ["-M", "want"])).toBe(0); // fragments: dropped
      expect(await g.ping(STATIC_IP, 0)).toBe(3);
    });
  });

  test("replies to an off-subnet peer through the gateway", async () => {
    await withGuest(boot, { smbiosSerial: SMBIOS_STATIC }, async (g) => {
      await g.exec(["ip", "addr", "add", "10.99.0.1/24", "dev", "tap0"]);
      await g.waitFor("exo: ip");
      expect(await g.waitForEcho(STATIC_IP)).toBe(true);
      expect(await g.ping(STATIC_IP, 56, 3, ["-I", "10.99.0.1"])).toBe(3);
    });
  });

  test("drives a modern-only (virtio 1.0) virtio-net device", async () => {
    await withGuest(boot, { smbiosSerial: SMBIOS_STATIC, modernVirtioOnly: true }, async (g) => {
      await g.waitFor(/^exo: pci .* virtio-net modern mac /);
      await g.waitFor("exo: ip");
      expect(await g.waitForEcho(STATIC_IP)).toBe(true);
      expect(await g.ping(STATIC_IP, 1472)).toBe(3);
    });
  });

  test("takes its network settings from the image block when SMBIOS has none", async () => {
    const block = configBlock(
      `net=static\nip=10.0.2.77/24\ngw=${GATEWAY}\nport=8080\ncolour=blue\n\n`,
    );
    await withGuest(boot, { block, smbiosSerial: "not-ours-1234" }, async (g) => {
      await g.waitFor("config: unknown key colour ignored");
      await g.waitFor(/^exo: config image$/);
      await g.waitFor(`exo: ip 10.0.2.77/24 gw ${GATEWAY} via static`);
      expect(await g.waitForEcho("10.0.2.77")).toBe(true);
      expect(g.serial().some((l) => l.startsWith("config: smbios"))).toBe(false);
    });
  });

  test("a malformed SMBIOS configuration is reported and falls back to DHCP", async () => {
    await withGuest(
      boot,
      { smbiosSerial: "exo:net=static;ip=300.1.2.3/24", dhcp: true },
      async (g) => {
        await g.waitFor("config: smbios invalid: bad ip");
        await g.waitFor(/^exo: config dhcp$/);
        await g.waitFor(`exo: ip ${DHCP_ADDRESS}/24 gw ${GATEWAY} via dhcp`);
        expect(await g.waitForEcho(DHCP_ADDRESS)).toBe(true);
      },
    );
  });

  test("an image block with a bad CRC is reported and ignored", async () => {
    const block = configBlock("net=static\nip=10.0.2.77/24\n\n");
    block[48] ^= 1;
    await withGuest(boot, { block, dhcp: true }, async (g) => {
      await g.waitFor("config: image block invalid: bad crc");
      await g.waitFor(`exo: kernel ${"0".repeat(64)}`);
      await g.waitFor(`exo: ip ${DHCP_ADDRESS}/24 gw ${GATEWAY} via dhcp`);
    });
  });

  test("renews its DHCP lease at half the lease time", async () => {
    await withGuest(boot, { dhcp: true }, async (g) => {
      await g.waitFor(`exo: ip ${DHCP_ADDRESS}/24 gw ${GATEWAY} via dhcp`);
      const acks = async () =>
        (await g.exec(["cat", `${g.dir}/dnsmasq.log`]))
          .split("\n")
          .filter((l) => l.includes("DHCPACK"));
      expect(await acks()).toHaveLength(1);
      const end = Date.now() + 75_000; // lease 120 s: renewal at 60 s
      while ((await acks()).length < 2 && Date.now() < end)
        await new Promise((r) => setTimeout(r, 1000));
      expect(await acks()).toHaveLength(2);
      expect(await g.ping(DHCP_ADDRESS)).toBe(3);
    });
  }, 110_000);

  test("keeps retrying DHCP until a server that starts late answers", async () => {
    await withGuest(boot, {}, async (g) => {
      await g.waitFor(/^exo: config dhcp$/);
      await new Promise((r) => setTimeout(r, 5000)); // retries at 0, 1, 3 s… go unanswered
      expect(g.serial().some((l) => l.startsWith("exo: ip"))).toBe(false);
      await g.startDhcp();
      await g.waitFor(`exo: ip ${DHCP_ADDRESS}/24 gw ${GATEWAY} via dhcp`, 20_000);
      expect(await g.waitForEcho(DHCP_ADDRESS)).toBe(true);
    });
  });
});
