/**
 * Entry point of the test-only `pulumi-resource-digitalocean` plugin: serves
 * {@link DigitalOceanEmulator} over Pulumi's provider protocol with `@pulumi/pulumi`'s Node
 * provider server (`provider.main`: binds 127.0.0.1:0 and prints the port, which is how the
 * engine connects).
 *
 * That server's Configure answers without handing the configuration to the provider (see
 * `@pulumi/pulumi/provider/server.js`), but DO's provider needs its `token` and `apiEndpoint`.
 * So before the server starts, grpc-js's `Server.addService` (the same module instance the
 * server uses) is wrapped to read the ConfigureRequest's `variables` (`digitalocean:config:token`
 * …) and `args` first, then answer as before.
 */
import * as path from "node:path";
import * as pulumiProvider from "@pulumi/pulumi/provider";
import { DigitalOceanEmulator, ProviderConfig } from "./provider";

interface Call {
  request: {
    getVariablesMap(): { toObject(): [string, string][] };
    getArgs(): { toJavaScript(): Record<string, unknown> } | undefined;
    getId(): string;
    getUrn(): string;
    getOlds(): { toJavaScript(): Record<string, unknown> };
    getNews(): { toJavaScript(): Record<string, unknown> };
  };
}
type Callback = (err: Error | null, resp?: unknown) => void;
type Handler = (call: Call, callback: Callback) => void;

/** `{"digitalocean:config:token": "x", "digitalocean:apiEndpoint": "y"}` → {token, apiEndpoint}. */
export function providerConfig(
  variables: [string, string][],
  args: Record<string, unknown> | undefined,
): ProviderConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of variables) out[k.split(":").pop()!] = v;
  for (const [k, v] of Object.entries(args ?? {})) if (v !== undefined && v !== null) out[k] = v;
  const unwrap = (v: unknown) =>
    v && typeof v === "object" && "value" in (v as object) ? (v as { value: unknown }).value : v;
  const str = (k: string) => (out[k] === undefined ? undefined : String(unwrap(out[k])));
  return {
    token: str("token"),
    apiEndpoint: str("apiEndpoint"),
    spacesAccessId: str("spacesAccessId"),
    spacesSecretKey: str("spacesSecretKey"),
    spacesEndpoint: str("spacesEndpoint"),
  };
}

/**
 * Wraps the Node provider server's handlers where it falls short of the bridged provider:
 * Configure (pass the configuration on) and Diff (also send the changed keys and a detailed
 * diff, without which the engine cannot apply a resource's `replaceOnChanges`).
 */
function interceptServer(emulator: DigitalOceanEmulator): void {
  const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
  const grpc = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] }));
  const proto = require(path.join(pulumiDir, "proto", "provider_pb"));
  const addService = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (service: unknown, impl: Record<string, Handler>) {
    const configure = impl.configure.bind(impl);
    impl.configure = (call, callback) => {
      const req = call.request;
      emulator.configure(
        providerConfig(req.getVariablesMap().toObject(), req.getArgs()?.toJavaScript()),
      );
      configure(call, callback);
    };
    impl.diff = (call, callback) => {
      const req = call.request;
      const olds = req.getOlds().toJavaScript();
      const news = req.getNews().toJavaScript();
      emulator.detailedDiff(req.getId(), req.getUrn(), olds, news).then(
        ({ changed, replaces }) =>
          callback(null, diffResponse(proto, olds, news, changed, replaces)),
        (e: Error) => callback(e),
      );
    };
    return addService.call(this, service, impl);
  };
}

/** A DiffResponse with changed keys and a detailed diff (PropertyDiff kinds per key). */
function diffResponse(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  proto: any,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  changed: string[],
  replaces: string[],
): unknown {
  const { DiffChanges } = proto.DiffResponse;
  const { Kind } = proto.PropertyDiff;
  const resp = new proto.DiffResponse();
  resp.setChanges(changed.length > 0 ? DiffChanges.DIFF_SOME : DiffChanges.DIFF_NONE);
  resp.setReplacesList(replaces);
  resp.setDiffsList(changed);
  const detailed = resp.getDetaileddiffMap();
  for (const key of changed) {
    const replace = replaces.includes(key);
    let kind = replace ? Kind.UPDATE_REPLACE : Kind.UPDATE;
    if (olds[key] === undefined) kind = replace ? Kind.ADD_REPLACE : Kind.ADD;
    else if (news[key] === undefined) kind = replace ? Kind.DELETE_REPLACE : Kind.DELETE;
    detailed.set(key, new proto.PropertyDiff().setKind(kind).setInputdiff(true));
  }
  resp.setHasdetaileddiff(true);
  return resp;
}

function main(): void {
  const emulator = new DigitalOceanEmulator();
  interceptServer(emulator);
  void pulumiProvider.main(emulator, process.argv.slice(2));
}

if (require.main === module) main();
