/**
 * The image on Proxmox VE: the raw (or VMDK) disk uploaded to a file-based storage as
 * `content=import` (`POST /nodes/{node}/storage/{storage}/upload`, pve-storage
 * `API2/Storage/Status.pm`), verified by PVE against its SHA-256 in the `imgcopy` task. VMs are
 * created from it with `import-from` (vm.ts), which copies it: no VM config refers to the
 * volume afterwards, so each VM carries the tag `exoform-img-<image id>` and the image is deleted
 * only when no VM with that tag exists.
 */
import * as fs from "node:fs";
import { z } from "zod";
import type { PveSession } from "./client";
import { PveApiError } from "./errors";
import { importFilenameProblem, importVolid, MIN_PVE_VERSION, versionAtLeast } from "./pve-rules";
import { waitForTask } from "./tasks";

export interface ImportImageRequest {
  readonly node: string;
  /** The storage to upload to; it must be file-based and allow `import`. */
  readonly storage: string;
  /** The local file to upload (absolute path). */
  readonly file: string;
  /** The name it gets on the storage (see pve-rules importFilenameFor). */
  readonly filename: string;
  /** SHA-256 of the file, lower-case hex: PVE verifies it and fails the task on a mismatch. */
  readonly sha256: string;
  /** Longest wait for the import task, ms. */
  readonly taskTimeoutMs: number;
}

export interface ImportedImage {
  /** `<storage>:import/<filename>`. */
  readonly volid: string;
  /** False when the volume already existed (nothing was uploaded). */
  readonly uploaded: boolean;
  /** The HTTP upload, ms (0 when skipped). */
  readonly uploadMs: number;
  /** The `imgcopy` task after the upload (checksum, format check, move), ms (0 when skipped). */
  readonly importMs: number;
}

const VersionSchema = z.looseObject({ version: z.string(), release: z.string().optional() });
const StorageStatusSchema = z.looseObject({ content: z.string(), type: z.string().optional() });
const StorageContentSchema = z.array(z.looseObject({ volid: z.string() }));
/** The tag of every VM made from image `imageId`. Pure. */
export function imageTag(imageId: string): string {
  return `exoform-img-${imageId}`;
}

/**
 * The `tags` of a new VM (a pve-tag-list, `;`-separated; pve-common `JSONSchema.pm`): `exoform`
 * and its image's tag. Pure.
 */
export function vmTags(imageId: string): string {
  return `exoform;${imageTag(imageId)}`;
}

/** The tags of a VM config's `tags` value (PVE accepts `;`, `,` and spaces between them). Pure. */
export function parseTags(tags: string | undefined): string[] {
  return (tags ?? "").split(/[;,\s]+/).filter(Boolean);
}

/** Fails with a clear message when the cluster is older than PVE 8.4 (no raw/vmdk imports). */
export async function assertImportCapableVersion(session: PveSession): Promise<string> {
  const { version } = await session.call("read the PVE version", VersionSchema, (api) =>
    api.version.$get(),
  );
  if (!versionAtLeast(version, MIN_PVE_VERSION))
    throw new Error(
      `${session.endpoint} runs Proxmox VE ${version}; uploading disk images as content=import needs PVE ${MIN_PVE_VERSION} or newer (libpve-storage-perl 8.3.6). Upgrade the node, or deploy to another cluster.`,
    );
  return version;
}

/** Fails with a clear message when `storage` on `node` does not accept `content=import`. */
export async function assertImportStorage(
  session: PveSession,
  node: string,
  storage: string,
): Promise<void> {
  const status = await session.call(
    `read storage ${storage} on ${node}`,
    StorageStatusSchema,
    (api) => api.nodes.$(node).storage.$(storage).status.$get(),
  );
  const content = status.content.split(",").map((c) => c.trim());
  if (!content.includes("import"))
    throw new Error(
      `storage ${storage} on ${node} does not allow the content type "import" (it allows: ${status.content || "nothing"}). ` +
        `Enable "Import" for it (Datacenter → Storage → ${storage} → Content, or pvesm set ${storage} --content ${[...content.filter(Boolean), "import"].join(",")}), ` +
        `or set exoform:proxmox.importStorage to a file-based storage that allows it.`,
    );
}

/** The import volumes on `storage`. */
async function importVolumes(
  session: PveSession,
  node: string,
  storage: string,
): Promise<string[]> {
  const list = await session.call(`list imports on ${storage}`, StorageContentSchema, (api) =>
    api.nodes
      .$(node)
      .storage.$(storage)
      .content.$get({ content: "import" as never }),
  );
  return list.map((v) => v.volid);
}

/** Uploads the image unless the storage already holds a volume of that name; waits for the import. */
export async function importImage(
  session: PveSession,
  req: ImportImageRequest,
): Promise<ImportedImage> {
  const problem = importFilenameProblem(req.filename);
  if (problem) throw new Error(`image file name ${JSON.stringify(req.filename)} ${problem}`);
  if (!/^[0-9a-f]{64}$/.test(req.sha256))
    throw new Error(`sha256 of ${req.file} must be 64 lower-case hex digits`);
  await assertImportCapableVersion(session);
  await assertImportStorage(session, req.node, req.storage);
  const volid = importVolid(req.storage, req.filename);
  if ((await importVolumes(session, req.node, req.storage)).includes(volid))
    return { volid, uploaded: false, uploadMs: 0, importMs: 0 };

  const doing = `upload ${req.filename} to ${req.storage} on ${req.node}`;
  const started = Date.now();
  const upid = await uploadFile(session, doing, req);
  const uploadMs = Date.now() - started;
  const importMs = await waitForTask(
    session,
    upid,
    `import of ${req.filename} into ${req.storage}`,
    {
      timeoutMs: req.taskTimeoutMs,
    },
  );
  return { volid, uploaded: true, uploadMs, importMs };
}

const UploadAnswerSchema = z.looseObject({ data: z.string() });
const ErrorBodySchema = z.looseObject({
  errors: z.union([z.record(z.string(), z.unknown()), z.string()]).nullish(),
  message: z.string().nullish(),
});

/**
 * The multipart POST, parts in the order PVE's parser expects (content, checksum-algorithm,
 * checksum, then the file part named `filename`; pve-http-server `AnyEvent.pm`), with a
 * Content-Length (PVE answers 501 to chunked bodies). Returns the `imgcopy` task id.
 */
async function uploadFile(
  session: PveSession,
  doing: string,
  req: ImportImageRequest,
): Promise<string> {
  const undici = require("undici") as typeof import("undici");
  const form = new undici.FormData();
  form.append("content", "import");
  form.append("checksum-algorithm", "sha256");
  form.append("checksum", req.sha256);
  form.append("filename", await fs.openAsBlob(req.file), req.filename);
  const path = `/api2/json/nodes/${encodeURIComponent(req.node)}/storage/${encodeURIComponent(req.storage)}/upload`;
  let response: Response;
  try {
    response = await session.fetchApi(path, {
      method: "POST",
      body: form as unknown as RequestInit["body"],
    });
  } catch (e) {
    const cause = session.redact(
      (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message,
    );
    throw new PveApiError(
      doing,
      new Error(`FaILED to call POST ${session.endpoint}${path} cause by:${cause}`),
      [],
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status !== 200) {
    const parsed = ErrorBodySchema.safeParse(body);
    const detail = parsed.success
      ? [
          typeof parsed.data.errors === "object" && parsed.data.errors
            ? Object.entries(parsed.data.errors)
                .map(([k, v]) => `${k}: ${String(v)}`)
                .join("; ")
            : parsed.data.errors,
          parsed.data.message,
        ]
          .filter(Boolean)
          .join("; ")
      : text.slice(0, 200);
    throw new Error(
      session.redact(
        `${doing}: POST ${path} answered ${response.status} ${response.statusText}${detail ? ` (${detail.trim()})` : ""}` +
          (response.status === 501
            ? " — PVE refuses chunked uploads; a Content-Length is required"
            : ""),
      ),
    );
  }
  const answer = UploadAnswerSchema.safeParse(body);
  if (!answer.success)
    throw new Error(
      `${doing}: unexpected answer (expected {"data": "UPID:…"}): ${text.slice(0, 200)}`,
    );
  return answer.data.data;
}

/** The VMIDs of VMs on `node` made from image `imageId` (tagged with its imageTag). */
export async function vmsMadeFrom(
  session: PveSession,
  node: string,
  imageId: string,
): Promise<number[]> {
  const vms = await session.call(`list VMs on ${node}`, VmListSchema, (api) =>
    api.nodes.$(node).qemu.$get(),
  );
  const users: number[] = [];
  // Every VM exoform makes is named exo-…: no need to read the others' configs.
  for (const vm of vms.filter((v) => v.name?.startsWith("exo-"))) {
    const vmid = Number(vm.vmid);
    const config = await session
      .call(`read VM ${vmid}`, TagsSchema, (api) => api.nodes.$(node).qemu.$(vmid).config.$get())
      .catch(() => undefined); // destroyed meanwhile
    if (parseTags(config?.tags).includes(imageTag(imageId))) users.push(vmid);
  }
  return users;
}

const VmListSchema = z.array(
  z.looseObject({ vmid: z.union([z.number(), z.string()]), name: z.string().optional() }),
);
const TagsSchema = z.looseObject({ tags: z.string().optional() });

/**
 * Deletes the image volume unless a VM made from it still exists (another stack deployed the
 * same image id). Returns what it did; a volume that is already gone counts as deleted.
 */
export async function deleteImageIfUnused(
  session: PveSession,
  req: { node: string; storage: string; volid: string; imageId: string; taskTimeoutMs: number },
): Promise<"deleted" | "gone" | { keptFor: number[] }> {
  const users = await vmsMadeFrom(session, req.node, req.imageId);
  if (users.length > 0) return { keptFor: users };
  if (!(await importVolumes(session, req.node, req.storage)).includes(req.volid)) return "gone";
  const upid = await session.call(`delete ${req.volid}`, z.string().nullable(), (api) =>
    api.nodes.$(req.node).storage.$(req.storage).content.$(req.volid).$delete(),
  );
  // PVE 8 answers a task id; older releases deleted synchronously and answered null.
  if (upid)
    await waitForTask(session, upid, `delete ${req.volid}`, { timeoutMs: req.taskTimeoutMs });
  return "deleted";
}
