/**
 * Proxmox VE's rules as exoform applies them (pure): upload file names, smbios1, UPIDs, task
 * outcomes, nextid answers, versions; and the VM helpers built on them (names, MACs, address
 * pool shares, create parameters).
 */
import {
  guestSerial,
  importFilenameFor,
  importFilenameProblem,
  importVolid,
  normalizeUploadFilename,
  parseNextId,
  parseUpid,
  serialOfSmbios1,
  SMBIOS1_MAX_LENGTH,
  SMBIOS1_TEXT_FIELD,
  smbios1ForSerial,
  staticAddressOfSerial,
  taskFailure,
  versionAtLeast,
} from "../../../infra/targets/proxmox/pve-rules";
import {
  createParameters,
  macForName,
  nameLabel,
  pickPoolAddress,
  vmNameFor,
} from "../../../infra/targets/proxmox/vm";
import { imageTag, parseTags } from "../../../infra/targets/proxmox/image";

const ID = "a".repeat(64);

describe("upload file names (pve-storage API2/Storage/Status.pm)", () => {
  test("PVE's normalization replaces everything outside [a-zA-Z0-9_.-]", () => {
    expect(normalizeUploadFilename("my disk+1.raw")).toBe("my_disk_1.raw");
    expect(normalizeUploadFilename("exoform-abc.raw")).toBe("exoform-abc.raw");
  });

  test.each([
    ["exoform-x.raw", undefined],
    ["exoform-x.vmdk", undefined],
    ["exoform-x.qcow2", undefined],
    ["exoform-x.img", /must end in \.raw, \.qcow2, \.vmdk/],
    ["exoform-x.RAW", /must end in/],
    ["exoform x.raw", /replace by "_"/],
    ["", /is empty/],
    [`${"a".repeat(252)}.raw`, /256 characters long \(PVE allows 255\)/],
  ])("%s", (name, problem) => {
    const found = importFilenameProblem(name);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });

  test("exoform's names carry the whole image id and pass PVE's rules", () => {
    const name = importFilenameFor(ID, "raw");
    expect(name).toBe(`exoform-${ID}.raw`);
    expect(importFilenameProblem(name)).toBeUndefined();
    expect(importFilenameProblem(importFilenameFor(ID, "vmdk"))).toBeUndefined();
    expect(importVolid("local", name)).toBe(`local:import/${name}`);
    expect(() => importFilenameFor("not-an-id", "raw")).toThrow(/not an image id/);
  });
});

describe("smbios1 (qemu-server QemuServer.pm)", () => {
  test("a static address travels base64-encoded in the serial, and decodes back", () => {
    const serial = guestSerial({ mode: "static", address: "10.20.0.50/24", gateway: "10.20.0.1" });
    expect(serial).toBe("exo:net=static;ip=10.20.0.50/24;gw=10.20.0.1");
    const value = smbios1ForSerial(serial);
    expect(value).toBe(`serial=${Buffer.from(serial).toString("base64")},base64=1`);
    expect(value.length).toBeLessThanOrEqual(SMBIOS1_MAX_LENGTH);
    const field = /^serial=([^,]+),base64=1$/.exec(value)![1];
    expect(field).toMatch(SMBIOS1_TEXT_FIELD);
    expect(serialOfSmbios1(value)).toBe(serial);
    expect(staticAddressOfSerial(serial)).toBe("10.20.0.50");
  });

  test("DHCP says so explicitly, so the SMBIOS setting wins over a static image block", () => {
    expect(guestSerial({ mode: "dhcp" })).toBe("exo:net=dhcp");
    expect(staticAddressOfSerial("exo:net=dhcp")).toBeUndefined();
    expect(staticAddressOfSerial("not ours;ip=1.2.3.4/8")).toBeUndefined();
  });

  test("the longest static serial stays within 512 characters", () => {
    const longest = guestSerial({
      mode: "static",
      address: "255.255.255.254/32",
      gateway: "255.255.255.253",
    });
    expect(smbios1ForSerial(longest).length).toBeLessThan(SMBIOS1_MAX_LENGTH);
  });

  test("a serial too long for PVE is refused with its length", () => {
    expect(() => smbios1ForSerial("x".repeat(400))).toThrow(
      /would be \d+ characters; PVE allows 512/,
    );
  });

  test("a config's plain (non-base64) serial and one without a serial read back", () => {
    expect(serialOfSmbios1("uuid=1234,serial=abc")).toBe("abc");
    expect(serialOfSmbios1("uuid=1234")).toBeUndefined();
  });
});

describe("UPIDs (pve-common PVE/Tools.pm upid_decode)", () => {
  test("a real-shaped UPID decodes into node, type, id and user", () => {
    const upid = "UPID:pve1:0000C2A4:0012D687:67E5B3F1:qmcreate:104:exoform@pve!deploy:";
    expect(parseUpid(upid, "create")).toEqual({
      upid,
      node: "pve1",
      pid: 0xc2a4,
      startTime: 0x67e5b3f1,
      type: "qmcreate",
      id: "104",
      user: "exoform@pve!deploy",
    });
    const imgcopy = parseUpid(
      "UPID:pve-a:00001234:00ABCDEF:67E5B3F1:imgcopy::root@pam!t:",
      "upload",
    );
    expect(imgcopy.type).toBe("imgcopy");
    expect(imgcopy.id).toBe("");
  });

  test.each([
    null,
    104,
    "",
    "UPID:pve1:xyz",
    "upid:pve1:0000C2A4:0012D687:67E5B3F1:qmcreate:104:u@pam:",
  ])("%p is refused, naming the step", (value) => {
    expect(() => parseUpid(value, "create VM 104")).toThrow(/^create VM 104: expected a task id/);
  });
});

describe("task outcomes", () => {
  test.each([
    [{ status: "stopped", exitstatus: "OK" }, undefined],
    [{ status: "stopped", exitstatus: "WARNINGS: 2" }, undefined],
    [{ status: "running" }, undefined],
    [
      { status: "stopped", exitstatus: "checksum mismatch: got 'x' != expected 'y'" },
      "checksum mismatch: got 'x' != expected 'y'",
    ],
    [{ status: "stopped" }, "ended without an exit status"],
  ] as const)("%j", (status, failure) => {
    expect(taskFailure(status)).toBe(failure);
  });
});

describe("GET /cluster/nextid", () => {
  test("the JSON string PVE answers, and a number, are VMIDs", () => {
    expect(parseNextId("100")).toBe(100);
    expect(parseNextId("999999999")).toBe(999999999);
    expect(parseNextId(105)).toBe(105);
  });

  test.each(["99", "1e3", "", "abc", null, 12.5, "1000000000"])("%p is refused", (value) => {
    expect(() => parseNextId(value)).toThrow(/GET \/cluster\/nextid: expected a VMID/);
  });
});

describe("versions", () => {
  test.each([
    ["8.4.0", true],
    ["8.4", true],
    ["9.0.3", true],
    ["8.3.5", false],
    ["7.4-17", false],
    ["10.0", true],
  ])("%s ≥ 8.4: %s", (version, ok) => {
    expect(versionAtLeast(version, "8.4")).toBe(ok);
  });
});

describe("VM helpers", () => {
  test("names are valid DNS names with the instance and a nonce", () => {
    expect(vmNameFor("pve-example-0", "0a1b2c3d")).toBe("exo-pve-example-0-0a1b2c3d");
    expect(vmNameFor("My_Stack.0", "00000000")).toBe("exo-my-stack-0-00000000");
    expect(nameLabel("___")).toBe("vm");
    expect(vmNameFor("x".repeat(100), "00000000").length).toBeLessThanOrEqual(63);
  });

  test("MACs are locally administered unicast and stable per name", () => {
    const mac = macForName("exo-a-00000000");
    expect(mac).toMatch(/^02(:[0-9A-F]{2}){5}$/);
    expect(macForName("exo-a-00000000")).toBe(mac);
    expect(macForName("exo-a-00000001")).not.toBe(mac);
  });

  const pool = ["10.0.0.10/24", "10.0.0.11/24", "10.0.0.12/24", "10.0.0.13/24"];

  test("each instance draws from its own share of the pool, so siblings never collide", () => {
    const none = new Set<string>();
    expect(pickPoolAddress({ mode: "static", pool, slot: 0, slots: 2 }, none)).toBe("10.0.0.10/24");
    expect(pickPoolAddress({ mode: "static", pool, slot: 1, slots: 2 }, none)).toBe("10.0.0.11/24");
  });

  test("a replacement takes the next address of its share while the old VM keeps its own", () => {
    const inUse = new Set(["10.0.0.10", "10.0.0.11"]);
    expect(pickPoolAddress({ mode: "static", pool, slot: 0, slots: 2 }, inUse)).toBe(
      "10.0.0.12/24",
    );
    expect(pickPoolAddress({ mode: "static", pool, slot: 1, slots: 2 }, inUse)).toBe(
      "10.0.0.13/24",
    );
  });

  test("a used-up share is an error naming the share", () => {
    const inUse = new Set(["10.0.0.10", "10.0.0.12"]);
    expect(() => pickPoolAddress({ mode: "static", pool, slot: 0, slots: 2 }, inUse)).toThrow(
      /no free address for instance 0 .*\(10\.0\.0\.10\/24, 10\.0\.0\.12\/24\) is in use/,
    );
  });

  test("create parameters: import-from, boot order, serial socket, SeaBIOS, smbios1, image tag", () => {
    const params = createParameters({
      vmid: 104,
      name: "exo-s-0-00000000",
      mac: "02:00:00:00:00:01",
      smbios1: "serial=ZXhvOm5ldD1kaGNw,base64=1",
      req: {
        node: "pve1",
        instance: "s-0",
        imageId: ID,
        volid: `local:import/exoform-${ID}.raw`,
        diskStorage: "local-lvm",
        bridge: "vmbr0",
        memoryMb: 16,
        addressing: { mode: "dhcp" },
        taskTimeoutMs: 1000,
        addressTimeoutMs: 1000,
      },
    });
    expect(params).toMatchObject({
      vmid: 104,
      virtio0: `local-lvm:0,import-from=local:import/exoform-${ID}.raw`,
      boot: "order=virtio0",
      net0: "virtio=02:00:00:00:00:01,bridge=vmbr0",
      serial0: "socket",
      bios: "seabios",
      memory: 16,
      smbios1: "serial=ZXhvOm5ldD1kaGNw,base64=1",
    });
    expect(parseTags(String(params.tags))).toEqual(["exoform", imageTag(ID)]);
    // PVE may store tags with other separators; they parse the same.
    expect(parseTags(`exoform ${imageTag(ID)}`)).toEqual(["exoform", imageTag(ID)]);
  });
});
