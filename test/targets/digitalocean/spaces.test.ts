/**
 * The Spaces upload against a real S3 server (SeaweedFS on 127.0.0.1, through a counting proxy
 * that can inject 5xx answers). Without SeaweedFS installed every test here fails with the
 * command to run: nothing is skipped.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  closeImportWindow,
  deleteImageObject,
  PART_SIZE_BYTES,
  SpacesError,
  uploadImage,
  UploadImageInputs,
} from "../../../infra/targets/digitalocean/spaces";
import { CountingProxy, startCountingProxy } from "../../helpers/counting-proxy";
import { freeLocalPort } from "../../../infra/targets/local/qemu";
import { S3TestServer, startS3Server } from "../../helpers/s3-server";

const BUCKET = "exoform-images";

let server: S3TestServer;
let proxy: CountingProxy;
let dir: string;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(BUCKET);
  proxy = await startCountingProxy(server.endpoint);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-spaces-test-"));
}, 90_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => proxy?.reset());

/** A fresh incompressible "image" of `bytes` bytes and the upload inputs for it. */
function image(bytes: number, overrides: Partial<UploadImageInputs> = {}): UploadImageInputs {
  const imageId = randomBytes(32).toString("hex");
  const file = path.join(dir, `${imageId}.img.gz`);
  const data = randomBytes(bytes);
  fs.writeFileSync(file, data);
  return {
    endpoint: proxy.endpoint,
    bucket: BUCKET,
    signingRegion: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    keyPrefix: "exoform",
    keyScope: "spaces-test",
    imageId,
    file,
    sha256: createHash("sha256").update(data).digest("hex"),
    bytes,
    maxAttempts: 4,
    ...overrides,
  };
}

function s3(): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}

async function headStatus(key: string): Promise<number> {
  const client = s3();
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return head.$metadata.httpStatusCode ?? 0;
  } catch (e) {
    return (e as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode;
  } finally {
    client.destroy();
  }
}

/** An anonymous GET, as DigitalOcean's importer does it. */
async function anonymousGet(url: string): Promise<{ status: number; sha256?: string }> {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    sha256: res.ok ? createHash("sha256").update(body).digest("hex") : undefined,
  };
}

async function expectSpacesError(promise: Promise<unknown>): Promise<SpacesError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SpacesError);
  return error as SpacesError;
}

describe("uploadImage against SeaweedFS", () => {
  test("a 12 MiB image goes up as a multipart upload, public-read, under a key ending in <image id>-<token>.img.gz", async () => {
    const inputs = image(12 * 1024 * 1024);
    const uploaded = await uploadImage(inputs);

    expect(uploaded.key).toMatch(
      new RegExp(`^exoform/spaces-test/${inputs.imageId}-[0-9a-f]{32}\\.img\\.gz$`),
    );
    expect(uploaded.url).toBe(`${proxy.endpoint}/${BUCKET}/${uploaded.key}`);
    expect(uploaded.reused).toBe(false);
    expect(uploaded.bytesSent).toBe(inputs.bytes);
    const parts = proxy.requests.filter((r) => r.method === "PUT" && /[?&]partNumber=/.test(r.url));
    expect(parts.length).toBe(Math.ceil(inputs.bytes / PART_SIZE_BYTES));
    expect(proxy.requests.some((r) => r.method === "POST" && /[?&]uploads/.test(r.url))).toBe(true);
    expect(proxy.bodyBytes()).toBeGreaterThanOrEqual(inputs.bytes);

    const got = await anonymousGet(uploaded.url);
    expect(got).toEqual({ status: 200, sha256: inputs.sha256 });
  });

  test("the same image again sends 0 bytes and keeps the object", async () => {
    const inputs = image(64 * 1024);
    const first = await uploadImage(inputs);
    expect(first.reused).toBe(false);
    proxy.reset();

    const second = await uploadImage(inputs);

    expect(second).toMatchObject({ key: first.key, reused: true, bytesSent: 0 });
    expect(proxy.bodyBytes()).toBe(0);
    expect(proxy.requests.map((r) => r.method)).toEqual(["HEAD", "HEAD", "PUT"]); // bucket, object, ACL
    expect((await anonymousGet(second.url)).status).toBe(200);
  });

  test("a changed file under the same key is uploaded again", async () => {
    const inputs = image(32 * 1024);
    const first = await uploadImage(inputs);
    const data = randomBytes(inputs.bytes);
    fs.writeFileSync(inputs.file, data);
    const changed = { ...inputs, sha256: createHash("sha256").update(data).digest("hex") };

    const second = await uploadImage(changed);

    expect(second.key).toBe(first.key);
    expect(second.reused).toBe(false);
    expect(second.bytesSent).toBe(inputs.bytes);
    expect((await anonymousGet(second.url)).sha256).toBe(changed.sha256);
  });

  test("the import window: public after upload, deleted when it closes", async () => {
    const inputs = image(16 * 1024);
    const uploaded = await uploadImage(inputs);
    expect((await anonymousGet(uploaded.url)).status).toBe(200);

    const action = await closeImportWindow({ ...inputs, key: uploaded.key }, false);

    expect(action).toBe("deleted");
    expect([403, 404]).toContain((await anonymousGet(uploaded.url)).status);
    expect(await headStatus(uploaded.key)).toBe(404);
  });

  test("the import window with keepUploadedImage: the object stays, private", async () => {
    const inputs = image(16 * 1024);
    const uploaded = await uploadImage(inputs);

    const action = await closeImportWindow({ ...inputs, key: uploaded.key }, true);

    expect(action).toBe("made-private");
    expect((await anonymousGet(uploaded.url)).status).toBe(403);
    expect(await headStatus(uploaded.key)).toBe(200);
    await deleteImageObject({ ...inputs, key: uploaded.key });
    expect(await headStatus(uploaded.key)).toBe(404);
  });

  test("deleting an object that is already gone succeeds", async () => {
    const inputs = image(1024);
    const uploaded = await uploadImage(inputs);
    await deleteImageObject({ ...inputs, key: uploaded.key });
    await expect(deleteImageObject({ ...inputs, key: uploaded.key })).resolves.toBeUndefined();
  });

  test("injected 503s on the part uploads are retried with backoff and the object is whole", async () => {
    const inputs = image(6 * 1024 * 1024);
    proxy.injectFailures({
      matches: (method, url) => method === "PUT" && /[?&]partNumber=/.test(url),
      count: 2,
      status: 503,
    });

    const uploaded = await uploadImage(inputs);

    const injected = proxy.requests.filter((r) => r.injected);
    expect(injected.map((r) => r.status)).toEqual([503, 503]);
    expect((await anonymousGet(uploaded.url)).sha256).toBe(inputs.sha256);
  });

  test("a 503 on every attempt fails after maxAttempts with the status in the message", async () => {
    const inputs = image(1024, { maxAttempts: 2 });
    proxy.injectFailures({ matches: (m) => m === "HEAD", count: 100, status: 503 });

    const error = await expectSpacesError(uploadImage(inputs));

    expect(proxy.requests.filter((r) => r.injected)).toHaveLength(2);
    expect(error.httpStatus).toBe(503);
    expect(error.message).toContain("HTTP 503");
  });

  test("wrong keys: one clear 403 error naming the secrets to fix, without the secret", async () => {
    const secretAccessKey = "wrong-secret-" + randomBytes(8).toString("hex");
    const inputs = image(1024, {
      credentials: { accessKeyId: "EXOWRONGKEY", secretAccessKey },
    });

    const error = await expectSpacesError(uploadImage(inputs));

    expect(error.kind).toBe("access-denied");
    expect(error.httpStatus).toBe(403);
    expect(error.message).toContain("digitalocean:spacesAccessId");
    expect(error.message).toContain("digitalocean:spacesSecretKey");
    expect(error.message).not.toContain(secretAccessKey);
    expect(error.message).not.toContain("EXOWRONGKEY");
  });

  test("a missing bucket: one clear NoSuchBucket error naming the setting", async () => {
    const inputs = image(1024, { bucket: "no-such-bucket-here" });

    const error = await expectSpacesError(uploadImage(inputs));

    expect(error.kind).toBe("no-such-bucket");
    expect(error.message).toContain('"no-such-bucket-here" does not exist');
    expect(error.message).toContain("exoform:digitalocean.spaces.bucket");
  });

  test("an endpoint nobody answers on: one clear error naming the endpoint setting", async () => {
    const endpoint = `http://127.0.0.1:${await freeLocalPort()}`;
    const inputs = image(1024, { endpoint, maxAttempts: 1 });

    const error = await expectSpacesError(uploadImage(inputs));

    expect(error.kind).toBe("unreachable");
    expect(error.message).toContain(endpoint);
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.message).toContain("exoform:digitalocean.spaces.endpoint");
  });

  test("a Space in another region (301 PermanentRedirect): one clear error naming the region setting", async () => {
    const inputs = image(1024);
    proxy.injectFailures({
      matches: (method) => method === "HEAD",
      count: 1,
      status: 301,
      code: "PermanentRedirect",
    });

    const error = await expectSpacesError(uploadImage(inputs));

    expect(error.kind).toBe("wrong-region");
    expect(error.httpStatus).toBe(301);
    expect(error.message).toContain("exoform:digitalocean.spaces.region");
  });

  test("a region mismatch on HeadBucket (a bare 400): the wrong-region error, naming the Space's region", async () => {
    const inputs = image(1024);
    proxy.injectFailures({
      matches: (method) => method === "HEAD",
      count: 1,
      status: 400,
      headers: { "x-amz-bucket-region": "ams3" },
    });

    const error = await expectSpacesError(uploadImage(inputs));

    expect(error.kind).toBe("wrong-region");
    expect(error.message).toContain("it is in ams3");
    expect(error.message).toContain("exoform:digitalocean.spaces.region");
  });

  test("a missing image file is reported before anything is sent", async () => {
    const inputs = image(1024);
    fs.rmSync(inputs.file);

    const error = await expectSpacesError(uploadImage(inputs));

    expect(error.kind).toBe("bad-input");
    expect(error.message).toContain("rebuild the image");
    expect(proxy.requests).toHaveLength(0);
  });
});
