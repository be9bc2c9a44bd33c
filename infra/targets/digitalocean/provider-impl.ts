/**
 * What the DigitalOcean target's dynamic providers (resources.ts) do. Those providers are
 * serialized into the Pulumi state as small stubs that load this module from the project at run
 * time, so `pulumi destroy` runs the current code, and so no SDK client or zod schema is ever
 * captured in a closure. Every function takes and returns plain JSON values.
 */
import { generateKeyPairSync } from "node:crypto";
import {
  closeImportWindow,
  deleteImageObject,
  ImageObjectRef,
  SpacesCredentials,
  SpacesLocation,
  uploadImage,
  UploadedImage,
  UploadImageInputs,
} from "./spaces";

/** Inputs of SpacesImageUpload: UploadImageInputs as plain values. */
export type ImageUploadInputs = UploadImageInputs;
/** State of SpacesImageUpload: its inputs plus what the upload did. */
export type ImageUploadState = ImageUploadInputs & UploadedImage;

/** Inputs whose change means another object (another key, URL or content): replace. */
const UPLOAD_REPLACE_KEYS = [
  "endpoint",
  "bucket",
  "forcePathStyle",
  "keyPrefix",
  "keyScope",
  "imageId",
  "sha256",
  "bytes",
  "keySalt",
] as const satisfies readonly (keyof ImageUploadInputs)[];

/** Uploads (or finds) the object; its key is the resource id. Throws SpacesError. */
export async function createImageUpload(
  inputs: ImageUploadInputs,
): Promise<{ id: string; outs: ImageUploadState }> {
  const uploaded = await uploadImage(inputs);
  return { id: uploaded.key, outs: { ...inputs, ...uploaded } };
}

/**
 * Replace when the object would differ; other changes (rotated keys, attempts, the artefact's
 * path, which differs between preview and up) only update the stored inputs.
 */
export function diffImageUpload(
  olds: ImageUploadState,
  news: ImageUploadInputs,
): { changes: boolean; replaces: string[] } {
  const replaces = UPLOAD_REPLACE_KEYS.filter(
    (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
  );
  const changes =
    replaces.length > 0 ||
    JSON.stringify(olds.credentials) !== JSON.stringify(news.credentials) ||
    olds.maxAttempts !== news.maxAttempts;
  return { changes, replaces };
}

/** An update keeps the object and what the upload did; it stores the new inputs. */
export function updateImageUpload(
  olds: ImageUploadState,
  news: ImageUploadInputs,
): ImageUploadState {
  const { key, url, bytesSent, reused, uploadMs, uploadedAtEpochMs } = olds;
  return { ...news, key, url, bytesSent, reused, uploadMs, uploadedAtEpochMs };
}

/** Deletes the object (already gone counts as deleted). Throws SpacesError. */
export async function deleteImageUpload(state: ImageUploadState): Promise<void> {
  await deleteImageObject(state);
}

/** Inputs of SpacesImportWindow. */
export interface ImportWindowInputs extends SpacesLocation {
  readonly credentials: SpacesCredentials;
  readonly key: string;
  /** Keep the object (private) instead of deleting it. */
  readonly keep: boolean;
  /** The imported Custom Image: a new image closes the window of its own upload. */
  readonly customImageId: string;
  readonly maxAttempts?: number;
}

/** State of SpacesImportWindow: its inputs plus what closing the window did. */
export interface ImportWindowState extends ImportWindowInputs {
  readonly action: "deleted" | "made-private";
  /** When the window closed (epoch ms): the import's end as this machine saw it. */
  readonly closedAtEpochMs: number;
}

/** Closes the import window of the object (delete, or private with `keep`). Throws SpacesError. */
export async function closeImportWindowOf(
  inputs: ImportWindowInputs,
): Promise<{ id: string; outs: ImportWindowState }> {
  const action = await closeImportWindow(objectRef(inputs), inputs.keep);
  return {
    id: `${inputs.key}@${inputs.customImageId}`,
    outs: { ...inputs, action, closedAtEpochMs: Date.now() },
  };
}

/** Replace (close the window again) for another object or image; other changes update. */
export function diffImportWindow(
  olds: ImportWindowState,
  news: ImportWindowInputs,
): { changes: boolean; replaces: string[] } {
  const replaces = (["key", "customImageId", "bucket", "endpoint"] as const).filter(
    (k) => olds[k] !== news[k],
  );
  const changes =
    replaces.length > 0 ||
    olds.keep !== news.keep ||
    JSON.stringify(olds.credentials) !== JSON.stringify(news.credentials) ||
    olds.maxAttempts !== news.maxAttempts;
  return { changes, replaces };
}

/**
 * A kept object whose setting turned off is deleted now; a deleted one cannot come back (the
 * next image is uploaded anew anyway).
 */
export async function updateImportWindow(
  olds: ImportWindowState,
  news: ImportWindowInputs,
): Promise<ImportWindowState> {
  if (olds.keep && !news.keep) {
    await deleteImageObject(objectRef(news));
    return { ...news, action: "deleted", closedAtEpochMs: olds.closedAtEpochMs };
  }
  return { ...news, action: olds.action, closedAtEpochMs: olds.closedAtEpochMs };
}

function objectRef(inputs: ImportWindowInputs): ImageObjectRef {
  return {
    endpoint: inputs.endpoint,
    bucket: inputs.bucket,
    signingRegion: inputs.signingRegion,
    forcePathStyle: inputs.forcePathStyle,
    credentials: inputs.credentials,
    key: inputs.key,
    maxAttempts: inputs.maxAttempts,
  };
}

/**
 * A fresh ed25519 key pair of which only the public half survives, in OpenSSH
 * `authorized_keys` form: `ssh-ed25519 <base64 of string "ssh-ed25519" + string key> <comment>`
 * (RFC 8709 §4; RFC 4253 §6.6 string = uint32 length + bytes). DigitalOcean says a custom image
 * Droplet needs an SSH key; exoform's kernel runs no SSH server, so nobody needs the private key.
 */
export function generateSshPublicKey(comment: string): string {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
  const sshString = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(raw)]);
  return `ssh-ed25519 ${blob.toString("base64")} ${comment}`;
}
