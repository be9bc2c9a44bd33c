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

interface ConfigureCall {
  request: {
    getVariablesMap(): { toObject(): [string, string][] };
    getArgs(): { toJavaScript(): Record<string, unknown> } | undefined;
  };
}
type Handler = (call: ConfigureCall, callback: unknown) => void;

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

function interceptConfigure(emulator: DigitalOceanEmulator): void {
  const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
  const grpc = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] }));
  const addService = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (service: unknown, impl: Record<string, Handler>) {
    const configure = impl.configure.bind(impl);
    impl.configure = (call, callback) => {
      emulator.configure(
        providerConfig(
          call.request.getVariablesMap().toObject(),
          call.request.getArgs()?.toJavaScript(),
        ),
      );
      configure(call, callback);
    };
    return addService.call(this, service, impl);
  };
}

function main(): void {
  const emulator = new DigitalOceanEmulator();
  interceptConfigure(emulator);
  void pulumiProvider.main(emulator, process.argv.slice(2));
}

if (require.main === module) main();
