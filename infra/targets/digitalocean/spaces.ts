/**
 * The image's trip through DigitalOcean Spaces (S3-compatible) for a Custom Image import:
 *
 * 1. `uploadImage`: the `.img.gz` goes up under an unguessable key ending in a file name
 *    (`<prefix>/<scope>/<image id>-<token>.img.gz`), readable by anyone (`public-read`) so that
 *    DigitalOcean's importer can fetch it: DO imports from a URL only, sends HEAD first, and
 *    refuses URLs that do not end in a file name or carry a query string (so no presigned
 *    URL) [DO custom image limits page; ops#468]. An object already there with the same size
 *    and sha256 is kept: 0 bytes are sent.
 * 2. `closeImportWindow`, once the Custom Image is available: the object is deleted, or made
 *    private when the stack keeps uploaded images. DO's own Packer importer does the same
 *    (packer-plugin-digitalocean post-processor/digitalocean-import).
 * 3. `deleteImageObject`, when the upload resource is destroyed.
 *
 * Loaded at run time by the serialized provider stubs in upload.ts (never captured in them), so
 * it may import SDKs at the top. Errors are SpacesError: one sentence saying what to fix, never
 * a credential.
 */
import { createHash, createHmac } from "node:crypto";
import * as fs from "node:fs";
import {
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectAclCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

/** Where the image goes: an S3 endpoint (Spaces or any S3-compatible server) and a bucket. */
export interface SpacesLocation {
  /** Base URL of the S3 API, e.g. `https://nyc3.digitaloceanspaces.com` (no bucket in it). */
  readonly endpoint: string;
  /** The Space (bucket) name. */
  readonly bucket: string;
  /**
   * The region the requests are signed for. Spaces accepts `us-east-1` for every region
   * (the region is in the endpoint); other S3 servers may want their own.
   */
  readonly signingRegion: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`. */
  readonly forcePathStyle: boolean;
}

/** A Spaces access key pair (`digitalocean:spacesAccessId`, `digitalocean:spacesSecretKey`). */
export interface SpacesCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Attempts per S3 request (first try included) unless the caller says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** lib-storage's part size: objects larger than this go up as a multipart upload. */
export const PART_SIZE_BYTES = 5 * 1024 * 1024;

/** Everything `uploadImage` needs; the upload resource's inputs. */
export interface UploadImageInputs extends SpacesLocation {
  readonly credentials: SpacesCredentials;
  /** First key segment(s), e.g. `exoform`; no leading or trailing `/`. */
  readonly keyPrefix: string;
  /** Second key segment, so stacks sharing a bucket never share an object (the stack name). */
  readonly keyScope: string;
  /** The image id (64 hex digits, image-builder). */
  readonly imageId: string;
  /** The `.img.gz` artefact (absolute path). */
  readonly file: string;
  /** sha256 (hex) of that file, from the build manifest. */
  readonly sha256: string;
  /** Its size in bytes. */
  readonly bytes: number;
  /**
   * What else the object is for (e.g. the Custom Image's regions): part of the key, so a
   * replacement upload never shares its key with the object it replaces.
   */
  readonly keySalt?: string;
  /** Attempts per request for the SDK's standard retry strategy (5xx, throttling, resets). */
  readonly maxAttempts?: number;
}

/** What `uploadImage` did. */
export interface UploadedImage {
  readonly key: string;
  /** The anonymous URL DO imports from (ends in the file name, no query string). */
  readonly url: string;
  /** Body bytes sent: 0 when the object was already there. */
  readonly bytesSent: number;
  /** True when an identical object was found and kept. */
  readonly reused: boolean;
  /** Wall time of the whole call (ms). */
  readonly uploadMs: number;
  /** When it finished (epoch ms): the import window opens here. */
  readonly uploadedAtEpochMs: number;
}

/** What went wrong, for callers and tests that react to the kind rather than the text. */
export type SpacesErrorKind =
  "access-denied" | "no-such-bucket" | "wrong-region" | "unreachable" | "bad-input" | "other";

/** A failed Spaces operation, described for the user (no credentials, no stack trace needed). */
export class SpacesError extends Error {
  constructor(
    readonly kind: SpacesErrorKind,
    message: string,
    /** HTTP status of the failed request, when there was a response. */
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = "SpacesError";
  }
}

/** Object user metadata (`x-amz-meta-exoform-sha256`) that proves an object is this image. */
const SHA256_METADATA = "exoform-sha256";

/**
 * The object key: `<prefix>/<scope>/<image id>-<token>.img.gz`. The token is an HMAC of the
 * location, scope, image id and salt keyed with the secret access key: nobody without the key
 * can guess it, yet the same inputs give the same key, so a repeated create finds its object.
 * Pure.
 */
export function imageObjectKey(
  inputs: Pick<
    UploadImageInputs,
    "keyPrefix" | "keyScope" | "imageId" | "keySalt" | "endpoint" | "bucket" | "credentials"
  >,
): string {
  if (!/^[0-9a-f]{64}$/.test(inputs.imageId))
    throw new SpacesError("bad-input", `image id must be 64 hex digits, got "${inputs.imageId}"`);
  const token = createHmac("sha256", inputs.credentials.secretAccessKey)
    .update(
      ["exoform-image-key/1", inputs.endpoint, inputs.bucket, inputs.keyScope, inputs.imageId]
        .concat(inputs.keySalt ?? "")
        .join("\0"),
    )
    .digest("hex")
    .slice(0, 32);
  const segments = [...splitKeyPrefix(inputs.keyPrefix), inputs.keyScope].map(safeKeySegment);
  return [...segments, `${inputs.imageId}-${token}.img.gz`].join("/");
}

function splitKeyPrefix(prefix: string): string[] {
  return prefix.split("/").filter((s) => s.length > 0);
}

/** Key segments keep to `[A-Za-z0-9._-]`, so the URL needs no escaping. */
function safeKeySegment(segment: string): string {
  return segment.replace(/[^A-Za-z0-9._-]/g, "_");
}

/**
 * The object's anonymous URL: `https://<bucket>.<endpoint host>/<key>` (virtual-host style, what
 * Spaces documents) or `<endpoint>/<bucket>/<key>` (path style). Pure.
 */
export function imageObjectUrl(location: SpacesLocation, key: string): string {
  const endpoint = parseEndpoint(location.endpoint);
  const base = endpoint.href.replace(/\/+$/, "");
  if (location.forcePathStyle) return `${base}/${location.bucket}/${key}`;
  return `${endpoint.protocol}//${location.bucket}.${endpoint.host}${endpoint.pathname.replace(/\/+$/, "")}/${key}`;
}

function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new SpacesError("bad-input", `Spaces endpoint "${endpoint}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new SpacesError("bad-input", `Spaces endpoint "${endpoint}" must be http(s)`);
  if (url.search || url.hash || url.username || url.password)
    throw new SpacesError(
      "bad-input",
      `Spaces endpoint must be a plain base URL without query, fragment or user info`,
    );
  return url;
}

/** An S3 client for Spaces: standard retries, checksums only where S3 requires them. */
export function spacesClient(
  location: SpacesLocation,
  credentials: SpacesCredentials,
  maxAttempts: number = DEFAULT_MAX_ATTEMPTS,
): S3Client {
  return new S3Client({
    endpoint: parseEndpoint(location.endpoint).href.replace(/\/+$/, ""),
    region: location.signingRegion,
    forcePathStyle: location.forcePathStyle,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
    },
    // The SDK's standard strategy: exponential backoff with jitter on 5xx, throttling and
    // transient network errors, bounded by a retry quota.
    retryMode: "standard",
    maxAttempts,
    // SDK >= 3.729 adds CRC32 checksums to every upload by default; several S3-compatible
    // servers refuse them. Spaces does not need them.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/**
 * Uploads the image (multipart above PART_SIZE_BYTES) as `public-read`, unless an object with
 * the same size and sha256 is already at its key, which is then made `public-read` again and
 * kept (0 bytes sent). Checks the bucket first, so a missing bucket, refused keys or a wrong
 * region each get their own error. Throws SpacesError.
 */
export async function uploadImage(inputs: UploadImageInputs): Promise<UploadedImage> {
  const started = Date.now();
  const key = imageObjectKey(inputs);
  const url = imageObjectUrl(inputs, key);
  statArtefact(inputs.file, inputs.bytes);
  const client = spacesClient(inputs, inputs.credentials, inputs.maxAttempts);
  try {
    await s3Call(inputs, "check the bucket", undefined, () =>
      client.send(new HeadBucketCommand({ Bucket: inputs.bucket })),
    );
    if (await sameObjectThere(client, inputs, key)) {
      await makePublic(client, inputs, key);
      return done(0, true);
    }
    let sent = 0;
    const upload = new Upload({
      client,
      params: {
        Bucket: inputs.bucket,
        Key: key,
        Body: fs.createReadStream(inputs.file),
        ACL: "public-read",
        ContentType: "application/gzip",
        Metadata: { [SHA256_METADATA]: inputs.sha256 },
      },
      partSize: PART_SIZE_BYTES,
      queueSize: 2,
      leavePartsOnError: false,
    });
    upload.on("httpUploadProgress", (p) => (sent = Math.max(sent, p.loaded ?? 0)));
    await s3Call(inputs, "upload the image", key, () => upload.done());
    // Multipart uploads carry the ACL on CreateMultipartUpload, which not every S3 server
    // applies to the completed object: set it explicitly.
    await makePublic(client, inputs, key);
    return done(sent, false);
  } finally {
    client.destroy();
  }

  function done(bytesSent: number, reused: boolean): UploadedImage {
    const now = Date.now();
    return { key, url, bytesSent, reused, uploadMs: now - started, uploadedAtEpochMs: now };
  }
}

function statArtefact(file: string, bytes: number): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    throw new SpacesError(
      "bad-input",
      `the image file ${file} is missing (${(e as NodeJS.ErrnoException).code}); rebuild the image`,
    );
  }
  if (stat.size !== bytes)
    throw new SpacesError(
      "bad-input",
      `the image file ${file} has ${stat.size} bytes, its build manifest says ${bytes}; rebuild the image`,
    );
}

/** Whether the key already holds this image (same size and sha256 metadata). */
async function sameObjectThere(
  client: S3Client,
  inputs: UploadImageInputs,
  key: string,
): Promise<boolean> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: inputs.bucket, Key: key }));
    return (
      head.ContentLength === inputs.bytes && head.Metadata?.[SHA256_METADATA] === inputs.sha256
    );
  } catch (e) {
    if (httpStatusOf(e) === 404) return false;
    throw describeS3Error(e, inputs, "look for an earlier upload", key);
  }
}

async function makePublic(client: S3Client, location: SpacesLocation, key: string) {
  await s3Call(location, "make the image readable for the import", key, () =>
    client.send(new PutObjectAclCommand({ Bucket: location.bucket, Key: key, ACL: "public-read" })),
  );
}

/** Inputs of `closeImportWindow` and `deleteImageObject`. */
export interface ImageObjectRef extends SpacesLocation {
  readonly credentials: SpacesCredentials;
  readonly key: string;
  readonly maxAttempts?: number;
}

/**
 * Ends the import window: deletes the object, or with `keep` makes it private. Returns what it
 * did. Throws SpacesError.
 */
export async function closeImportWindow(
  ref: ImageObjectRef,
  keep: boolean,
): Promise<"deleted" | "made-private"> {
  if (!keep) {
    await deleteImageObject(ref);
    return "deleted";
  }
  const client = spacesClient(ref, ref.credentials, ref.maxAttempts);
  try {
    await s3Call(ref, "make the uploaded image private", ref.key, () =>
      client.send(new PutObjectAclCommand({ Bucket: ref.bucket, Key: ref.key, ACL: "private" })),
    );
    return "made-private";
  } finally {
    client.destroy();
  }
}

/** Deletes the object; a missing object or bucket counts as deleted. Throws SpacesError. */
export async function deleteImageObject(ref: ImageObjectRef): Promise<void> {
  const client = spacesClient(ref, ref.credentials, ref.maxAttempts);
  try {
    await client.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
  } catch (e) {
    if (httpStatusOf(e) === 404) return;
    throw describeS3Error(e, ref, "delete the uploaded image", ref.key);
  } finally {
    client.destroy();
  }
}

/** sha256 (hex) of a file, streamed. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function s3Call<T>(
  location: SpacesLocation,
  what: string,
  key: string | undefined,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw describeS3Error(e, location, what, key);
  }
}

/** The HTTP status of an SDK error, when the server answered. */
function httpStatusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/**
 * One clear sentence per failure the user can fix: refused keys (403), a missing bucket, the
 * wrong region or endpoint (301 redirect, a region-mismatch 400, or no answer at all). Other
 * errors keep the server's error code and status. Server messages are not quoted for
 * authentication failures: some S3 servers echo the string to sign there.
 */
export function describeS3Error(
  e: unknown,
  location: SpacesLocation,
  what: string,
  key?: string,
): SpacesError {
  if (e instanceof SpacesError) return e;
  const where = `s3://${location.bucket}${key ? `/${key}` : ""} at ${location.endpoint}`;
  const status = httpStatusOf(e);
  const err = e as { name?: string; Code?: string; code?: string; message?: string };
  const code = err.Code ?? err.name ?? "Error";
  const fix =
    "set exoform:digitalocean.spaces.region (or .endpoint) to the region the Space was created in";
  if (status === undefined) {
    const cause = networkCause(e);
    return new SpacesError(
      "unreachable",
      `cannot ${what}: no answer from the Spaces endpoint ${location.endpoint} (${cause}); check exoform:digitalocean.spaces.endpoint and region`,
    );
  }
  if (code === "NoSuchBucket" || (status === 404 && !key))
    return new SpacesError(
      "no-such-bucket",
      `cannot ${what}: the Space "${location.bucket}" does not exist at ${location.endpoint} (NoSuchBucket). Create it in the DigitalOcean control panel, or ${fix}; its name goes in exoform:digitalocean.spaces.bucket`,
      status,
    );
  // HEAD answers have no body, so HeadBucket's region mismatch is a bare 400 (S3 documents it
  // with an x-amz-bucket-region header naming the right region).
  const bucketRegion = headerOf(e, "x-amz-bucket-region");
  if (
    status === 301 ||
    code === "PermanentRedirect" ||
    code === "AuthorizationHeaderMalformed" ||
    (status === 400 && !key)
  )
    return new SpacesError(
      "wrong-region",
      `cannot ${what}: the Space "${location.bucket}" is not served by ${location.endpoint} (${code}, HTTP ${status}${bucketRegion ? `; it is in ${bucketRegion}` : ""}); ${fix}`,
      status,
    );
  if (status === 403)
    return new SpacesError(
      "access-denied",
      `cannot ${what}: Spaces refused the access key for ${where} (${code}, HTTP 403). Check the secrets digitalocean:spacesAccessId and digitalocean:spacesSecretKey (pulumi config set --secret ...) and that the key may write to this Space`,
      status,
    );
  return new SpacesError(
    "other",
    `cannot ${what} (${where}): ${code} (HTTP ${status})${err.message && err.message !== code ? `: ${err.message}` : ""}`,
    status,
  );
}

/** A response header of an SDK error, when the server answered. */
function headerOf(e: unknown, name: string): string | undefined {
  const headers = (e as { $response?: { headers?: Record<string, string | undefined> } })?.$response
    ?.headers;
  return headers?.[name];
}

/** The network error in a few words, e.g. `connect ECONNREFUSED 127.0.0.1:9`. */
function networkCause(e: unknown): string {
  const err = e as { code?: string; message?: string };
  // Errors from another JS realm (test runners) arrive wrapped, with the cause in the message.
  const message = (err.message ?? String(e)).replace(/^AWS SDK error wrapper for Error: /, "");
  return err.code && !message.includes(err.code) ? `${err.code}: ${message}` : message;
}
