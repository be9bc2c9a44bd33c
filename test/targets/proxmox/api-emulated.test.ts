/**
 * The Proxmox target's API code against the PVE emulator (test/emulators/proxmox), API only
 * (no VM boots): TLS trust modes, token errors without the secret, the version and storage
 * checks, the multipart upload with its checksum and the skip when the image is there, task
 * failures with their exit status, and image deletion. Every request must pass PVE's schema.
 */
import { randomBytes, createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ProxmoxEmulator } from "../../emulators/proxmox/emulator";
import { PveConnection, PveSession, withSession } from "../../../infra/targets/proxmox/client";
import {
  assertImportCapableVersion,
  deleteImageIfUnused,
  importImage,
} from "../../../infra/targets/proxmox/image";
import { importFilenameFor } from "../../../infra/targets/proxmox/pve-rules";
import type { PveTls } from "../../../infra/targets/proxmox/tls";
import { z } from "zod";

let pve: ProxmoxEmulator;
let dir: string;
let image: { file: string; sha256: string; imageId: string };

beforeAll(async () => {
  pve = await ProxmoxEmulator.start({ network: false, authFailureDelayMs: 20 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-pve-api-test-"));
  // Any raw disk does for the API: 1 MiB of random bytes (qemu-img sees raw).
  const data = randomBytes(1 << 20);
  const file = path.join(dir, "disk.raw");
  fs.writeFileSync(file, data);
  const sha256 = createHash("sha256").update(data).digest("hex");
  image = { file, sha256, imageId: sha256 };
});

afterAll(async () => {
  await pve?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  expect(pve.schemaViolations()).toEqual([]);
});

function connection(tls: PveTls, overrides: Partial<PveConnection> = {}): PveConnection {
  return {
    endpoint: pve.url,
    tokenId: pve.token.id,
    tokenSecret: pve.token.secret,
    tls,
    // proxmox-api leaves its request timer running after a failed fetch: keep it short.
    queryTimeoutMs: 5000,
    ...overrides,
  };
}

const caTls = (): PveTls => ({ mode: "ca", caPem: pve.cert.cert });
const version = (tls: PveTls, o?: Partial<PveConnection>) =>
  withSession(connection(tls, o), (s) => assertImportCapableVersion(s));

describe("TLS trust, per connection", () => {
  test("the system store refuses the node's self-signed certificate, and the error says which setting fixes it", async () => {
    const failure = version({ mode: "system" });
    await expect(failure).rejects.toThrow(
      /read the PVE version: GET \/api2\/json\/version: .*(self-signed|certificate).* — trust the API's certificate with exoform:proxmox\.tls\.caFile .* or tls\.fingerprint/i,
    );
    await expect(failure).rejects.not.toThrow(/use-system-ca/);
  });

  test("the node's CA, a pinned fingerprint (either spelling) and explicit insecure all connect", async () => {
    await expect(version(caTls())).resolves.toBe("8.4.1");
    await expect(version({ mode: "fingerprint", sha256: pve.cert.fingerprint256 })).resolves.toBe(
      "8.4.1",
    );
    await expect(
      version({
        mode: "fingerprint",
        sha256: pve.cert.fingerprint256.replace(/:/g, "").toLowerCase(),
      }),
    ).resolves.toBe("8.4.1");
    await expect(version({ mode: "insecure" })).resolves.toBe("8.4.1");
  });

  test("a wrong pin is refused before any request is sent", async () => {
    const before = pve.requests.length;
    await expect(version({ mode: "fingerprint", sha256: "AB".repeat(32) })).rejects.toThrow(
      /not the pinned AB:AB/,
    );
    expect(pve.requests.length).toBe(before);
  });
});

describe("errors name the call and never the token", () => {
  test("a wrong secret: 401 with a hint, and no secret in the message", async () => {
    const wrong = "00000000-0000-0000-0000-000000000000";
    const e = await version(caTls(), { tokenSecret: wrong }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(
      /GET \/api2\/json\/version answered 401 [^—]+ — check exoform:proxmox.tokenId/,
    );
    expect((e as Error).message).not.toContain(wrong);
    expect((e as Error).message).not.toContain(pve.token.secret);
  });

  test("a cluster older than 8.4 is refused with what to do", async () => {
    pve.setVersion("8.3.5");
    try {
      await expect(version(caTls())).rejects.toThrow(
        /runs Proxmox VE 8\.3\.5; uploading disk images as content=import needs PVE 8\.4 or newer/,
      );
    } finally {
      pve.setVersion("8.4.1");
    }
  });
});

describe("image import", () => {
  const filename = () => importFilenameFor(image.imageId, "raw");
  const request = (storage = "local") => ({
    node: pve.node,
    storage,
    file: image.file,
    filename: filename(),
    sha256: image.sha256,
    taskTimeoutMs: 30_000,
  });

  test("a storage without the import content type is refused with the fix", async () => {
    await expect(
      withSession(connection(caTls()), (s) => importImage(s, request("local-lvm"))),
    ).rejects.toThrow(
      /storage local-lvm on pve does not allow the content type "import" \(it allows: images,rootdir\)\. Enable "Import"/,
    );
  });

  test("a checksum mismatch fails the import task; the error quotes its exit status once and the log", async () => {
    const wrong = "0".repeat(64);
    const e = await withSession(connection(caTls()), (s) =>
      importImage(s, { ...request(), sha256: wrong }),
    ).catch((x: Error) => x);
    expect((e as Error).message).toMatch(
      new RegExp(
        `^import of ${filename()} into local failed: task imgcopy on pve ended with: checksum mismatch: got '${image.sha256}' != expect '${wrong}'\n {2}task log \\(last lines\\):\n {4}\\| starting file import`,
      ),
    );
    // The log's "TASK ERROR:" line would repeat the exit status: left out.
    expect((e as Error).message.split("checksum mismatch").length - 1).toBe(1);
    expect((e as Error).message).not.toContain(pve.token.secret);
    expect(pve.leftovers().volumes).toEqual([]);
  });

  test("a task that outlasts the timeout is reported as still running, with the setting to raise", async () => {
    pve.inject.slowTasks(2000);
    try {
      await expect(
        withSession(connection(caTls()), (s) =>
          importImage(s, { ...request(), taskTimeoutMs: 300 }),
        ),
      ).rejects.toThrow(
        /^import of .* into local: task UPID:pve:[^ ]+ still running after 0\.3 s \(exoform:proxmox\.taskTimeoutSeconds\); see it in the task list of node pve$/,
      );
    } finally {
      pve.inject.slowTasks(0);
    }
    // The task itself goes on and finishes: the import is there afterwards.
    await pve.pve.tasks.settle();
    const volid = `local:import/${filename()}`;
    expect(pve.leftovers().volumes).toEqual([volid]);
    expect(await deleteImported(volid)).toBe("deleted");
  });

  test("an injected task failure is reported with its exit status", async () => {
    pve.inject.failNextTask("imgcopy", "emulator: injected: disk full");
    await expect(
      withSession(connection(caTls()), (s) => importImage(s, request())),
    ).rejects.toThrow(
      /^import of .* into local failed: task imgcopy on pve ended with: emulator: injected: disk full$/,
    );
    expect(pve.leftovers().volumes).toEqual([]);
  });

  function deleteImported(volid: string) {
    return withSession(connection(caTls()), (s) =>
      deleteImageIfUnused(s, {
        node: pve.node,
        storage: "local",
        volid,
        imageId: image.imageId,
        taskTimeoutMs: 30_000,
      }),
    );
  }

  // The emulator parses uploads as PVE does: fields only in the order content,
  // checksum-algorithm, checksum, then the part named `filename` (multipart.ts), and answers
  // 501 to a chunked body; a 200 proves both.
  test("upload: multipart in PVE's order with a Content-Length; then a second run skips it; delete removes it", async () => {
    const first = await withSession(connection(caTls()), (s) => importImage(s, request()));
    expect(first).toMatchObject({ volid: `local:import/${filename()}`, uploaded: true });
    expect(first.uploadMs).toBeGreaterThanOrEqual(0);
    const upload = pve.requests.filter(
      (r) => r.template === "/nodes/{node}/storage/{storage}/upload",
    );
    expect(upload.at(-1)).toMatchObject({
      status: 200,
      params: expect.objectContaining({
        content: "import",
        "checksum-algorithm": "sha256",
        checksum: image.sha256,
      }),
    });
    expect(pve.leftovers().volumes).toEqual([`local:import/${filename()}`]);

    const uploadsBefore = pve.requests.filter((r) => r.template?.endsWith("/upload")).length;
    const second = await withSession(connection(caTls()), (s) => importImage(s, request()));
    expect(second).toEqual({ volid: first.volid, uploaded: false, uploadMs: 0, importMs: 0 });
    expect(pve.requests.filter((r) => r.template?.endsWith("/upload")).length).toBe(uploadsBefore);

    const deleted = await deleteImported(first.volid);
    expect(deleted).toBe("deleted");
    expect(pve.leftovers().volumes).toEqual([]);
    const again = await deleteImported(first.volid);
    expect(again).toBe("gone");
  });

  test("an answer that is not what PVE documents is an error quoting it", async () => {
    const session = new PveSession(connection(caTls()));
    try {
      await expect(
        session.call("read the PVE version", z.object({ version: z.number() }), (api) =>
          api.version.$get(),
        ),
      ).rejects.toThrow(
        /read the PVE version: unexpected answer from https:\/\/127\.0\.0\.1:\d+ \(version: /,
      );
    } finally {
      await session.close();
    }
  });
});
