/**
 * The Spaces upload resources under the real Pulumi engine (CLI on a file backend, the dynamic
 * provider host loading exoform's dist/), against a real SeaweedFS behind a counting proxy:
 * up uploads and closes the import window, a second up sends nothing, the keys stay encrypted in
 * the state, destroy deletes a kept object. Needs `npm run build` (the npm scripts run it) and
 * SeaweedFS (the bootstrap); without them it fails, it never skips.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CountingProxy, startCountingProxy } from "../../helpers/counting-proxy";
import { createPulumiProject, PulumiProject, repoRoot } from "../../helpers/pulumi";
import { S3TestServer, startS3Server } from "../../helpers/s3-server";

const BUCKET = "engine-test";
const resources = path.join(repoRoot, "dist", "infra", "targets", "digitalocean", "resources.js");

const program = `
const pulumi = require("@pulumi/pulumi");
const { SpacesImageUpload, SpacesImportWindow } = require(${JSON.stringify(resources)});
const cfg = new pulumi.Config();
const location = {
  endpoint: cfg.require("endpoint"),
  bucket: cfg.require("bucket"),
  signingRegion: "us-east-1",
  forcePathStyle: true,
  maxAttempts: 3,
};
const credentials = pulumi.all([cfg.requireSecret("accessKey"), cfg.requireSecret("secretKey")])
  .apply(([accessKeyId, secretAccessKey]) => ({ accessKeyId, secretAccessKey }));
const upload = new SpacesImageUpload("upload", {
  ...location,
  credentials,
  keyPrefix: "exoform",
  keyScope: "engine",
  imageId: cfg.require("imageId"),
  file: cfg.require("file"),
  sha256: cfg.require("sha256"),
  bytes: cfg.requireNumber("bytes"),
  keySalt: "regions=nyc3",
});
const window = new SpacesImportWindow("import-window", {
  ...location,
  credentials,
  key: upload.key,
  keep: cfg.requireBoolean("keep"),
  customImageId: "4242",
}, { dependsOn: [upload] });
exports.key = upload.key;
exports.url = upload.url;
exports.bytesSent = upload.bytesSent;
exports.action = window.action;
`;

describe("Spaces upload resources under the real engine", () => {
  let server: S3TestServer;
  let proxy: CountingProxy;
  let project: PulumiProject;
  let bytes: number;

  const set = (key: string, value: string, secret = false) =>
    project.pulumiOk(["config", "set", ...(secret ? ["--secret"] : []), key, value]);
  const outputs = async () =>
    JSON.parse((await project.pulumiOk(["stack", "output", "--json"])).stdout) as {
      key: string;
      url: string;
      bytesSent: number;
      action: string;
    };
  const headStatus = async (key: string) => {
    const client = new S3Client({
      endpoint: server.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    try {
      return (await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).$metadata
        .httpStatusCode;
    } catch (e) {
      return (e as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode;
    } finally {
      client.destroy();
    }
  };

  beforeAll(async () => {
    if (!fs.existsSync(resources))
      throw new Error(`${resources} is missing: run \`npm run build\` (npm test does)`);
    server = await startS3Server();
    await server.createBucket(BUCKET);
    proxy = await startCountingProxy(server.endpoint);
    project = await createPulumiProject({ name: "spaces-engine", programJs: program });
    const data = randomBytes(256 * 1024);
    bytes = data.length;
    const file = path.join(project.dir, "image.img.gz");
    fs.writeFileSync(file, data);
    await set("endpoint", proxy.endpoint);
    await set("bucket", BUCKET);
    await set("imageId", randomBytes(32).toString("hex"));
    await set("file", file);
    await set("sha256", createHash("sha256").update(data).digest("hex"));
    await set("bytes", String(bytes));
    await set("keep", "false");
    await set("accessKey", server.accessKeyId, true);
    await set("secretKey", server.secretAccessKey, true);
  }, 120_000);

  afterAll(async () => {
    if (project) {
      await project.pulumi(["destroy", "--yes", "--skip-preview"]);
      project.cleanup();
    }
    await proxy?.close();
    await server?.stop();
  });

  test("up uploads the image, then deletes it once the import window closes", async () => {
    await project.pulumiOk(["up", "--yes", "--skip-preview"]);

    const out = await outputs();
    expect(out.key).toMatch(/^exoform\/engine\/[0-9a-f]{64}-[0-9a-f]{32}\.img\.gz$/);
    expect(out.url).toBe(`${proxy.endpoint}/${BUCKET}/${out.key}`);
    expect(out.bytesSent).toBe(bytes);
    expect(out.action).toBe("deleted");
    expect(proxy.bodyBytes()).toBeGreaterThanOrEqual(bytes);
    expect(await headStatus(out.key)).toBe(404);
  });

  test("a second up with the same image changes nothing and sends nothing to Spaces", async () => {
    proxy.reset();
    await project.pulumiOk(["up", "--yes", "--expect-no-changes"]);
    expect(proxy.requests).toEqual([]);
  });

  test("the Spaces keys are encrypted in the state and absent from the outputs", async () => {
    const state = (await project.pulumiOk(["stack", "export"])).stdout;
    const all = (await project.pulumiOk(["stack", "output", "--json", "--show-secrets"])).stdout;
    for (const secret of [server.secretAccessKey, server.accessKeyId]) {
      expect(state).not.toContain(secret);
      expect(all).not.toContain(secret);
    }
    const upload = (
      JSON.parse(state).deployment.resources as { type: string; outputs: Record<string, unknown> }[]
    ).find((r) => r.type.endsWith(":SpacesImageUpload"))!;
    expect(upload.outputs.credentials).toHaveProperty("ciphertext");
  });

  test("with keepUploadedImage the object stays, private, until destroy deletes it", async () => {
    await project.pulumiOk(["destroy", "--yes", "--skip-preview"]);
    await set("keep", "true");
    await project.pulumiOk(["up", "--yes", "--skip-preview"]);
    const out = await outputs();
    expect(out.action).toBe("made-private");
    expect(await headStatus(out.key)).toBe(200);
    expect((await fetch(`${server.endpoint}/${BUCKET}/${out.key}`)).status).toBe(403);

    await project.pulumiOk(["destroy", "--yes", "--skip-preview"]);
    expect(await headStatus(out.key)).toBe(404);
  });
});
