/**
 * The kernel on QEMU with the links some clouds give it, each in a namespace of the test's own
 * with dnsmasq on every tap: a /32 lease whose router lies outside it (issue 11), a /31 lease
 * (RFC 3021), and DigitalOcean's two legacy virtio-net NICs, public first, private second, each
 * with a DHCP server offering a router (issue 12). The guest must answer ping and HTTP where it
 * took its address.
 */
import { BootSoftware, buildKernel, configBlock } from "../helpers/kernel-image";
import { GuestLink, stopAllGuests, TestGuest, withGuest } from "../helpers/guest";
import { describeAsRoot } from "../helpers/privilege";

const BODY = "links ok\n";

/** dnsmasq arguments leasing `address` to the link's NIC with `mask` and `router`. */
function lease(address: string, mask: string, router: string): string[] {
  return [
    `--dhcp-range=${address},static,120`,
    `--dhcp-host={mac},${address}`,
    `--dhcp-option=option:netmask,${mask}`,
    `--dhcp-option=option:router,${router}`,
    "--dhcp-authoritative",
  ];
}

let boot: BootSoftware;
beforeAll(async () => {
  boot = await buildKernel();
});
afterAll(stopAllGuests);

/** Ping and GET / at `address` from the namespace: three echo replies and the body. */
async function expectReachable(g: TestGuest, address: string): Promise<void> {
  expect(await g.waitForEcho(address)).toBe(true);
  expect(await g.ping(address)).toBe(3);
  expect(await g.exec(["curl", "-s", "--max-time", "20", `http://${address}/`])).toBe(BODY);
}

describeAsRoot("kernel on QEMU with cloud-style links", () => {
  const block = configBlock(`net=dhcp\n\n${BODY}`);

  // /32: the server's own subnet is a /24, the netmask option narrows the lease; the router is
  // outside it. /31: the guest gets the lower address of the pair, so the peer (the router)
  // was what ip | ~mask called the broadcast address.
  test.each([
    {
      kind: "/32 lease, router outside it",
      host: "10.0.2.2/24",
      guest: "10.0.2.15",
      mask: "255.255.255.255",
      prefix: 32,
    },
    {
      kind: "/31 lease, router the peer",
      host: "10.0.2.15/31",
      guest: "10.0.2.14",
      mask: "255.255.255.254",
      prefix: 31,
    },
  ])(
    "$kind: the router is the gateway, reached on the link",
    async ({ host, guest, mask, prefix }) => {
      const router = host.split("/")[0];
      const links: GuestLink[] = [{ hostCidr: host, dnsmasq: lease(guest, mask, router) }];
      await withGuest(boot, { block, links }, async (g) => {
        await g.waitFor(`exo: ip ${guest}/${prefix} gw ${router} via dhcp`, 60_000);
        await expectReachable(g, guest);
      });
    },
  );

  test("two legacy NICs (public, then private): DHCP and the gateway on the first only", async () => {
    const links: GuestLink[] = [
      {
        hostCidr: "10.0.2.2/24",
        dnsmasq: lease("10.0.2.15", "255.255.255.0", "10.0.2.2"),
      },
      {
        hostCidr: "10.0.3.1/24",
        dnsmasq: lease("10.0.3.15", "255.255.255.0", "10.0.3.1"),
      },
    ];
    await withGuest(boot, { block, links }, async (g) => {
      const pci = await g.waitFor(/^exo: pci /, 60_000);
      expect(pci).toMatch(new RegExp(`virtio-net legacy mac ${g.linkMac(0)}$`));
      await g.waitFor("exo: ip 10.0.2.15/24 gw 10.0.2.2 via dhcp", 60_000);
      await expectReachable(g, "10.0.2.15");
      expect(g.serial().filter((l) => l.startsWith("exo: ip "))).toEqual([
        "exo: ip 10.0.2.15/24 gw 10.0.2.2 via dhcp",
      ]);
      // The second NIC is there (QEMU holds its tap: carrier), and its server, which serves,
      // never heard from the guest.
      expect(await g.exec(["ip", "link", "show", "tap1"])).not.toContain("NO-CARRIER");
      const privateLog = await g.exec(["cat", `${g.dir}/dnsmasq-tap1.log`]);
      expect(privateLog).toContain("DHCP, static leases only on 10.0.3.15");
      expect(privateLog).not.toMatch(/DHCPDISCOVER|DHCPREQUEST/);
      expect(await g.ping("10.0.3.15", 56, 2)).toBe(0);
    });
  });
});
