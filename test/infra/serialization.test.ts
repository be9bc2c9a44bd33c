/**
 * Dynamic providers are stored in the state as serialized closures. Ours must serialize, capture
 * nothing but the absolute path of their implementation module, and require() it at run time.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { healthCheckProvider } from "../../infra/health/resource";
import { qemuVmProvider } from "../../infra/local/vm";

describe("dynamic providers serialize into small stubs", () => {
  test.each([
    ["QemuVm", () => qemuVmProvider, path.join("infra", "local", "instance.js")],
    ["HealthCheck", () => healthCheckProvider, path.join("infra", "health", "index.js")],
  ])("%s", async (_name, provider, modulePath) => {
    const serialized = await pulumi.runtime.serializeFunction(provider);
    const text = serialized.text;
    expect(text).toContain(modulePath);
    expect(text).toContain("require(");
    // No SDK, schema or client object captured: only the stub and its module path.
    expect(text).not.toMatch(/zod|ZodObject|@pulumi\/pulumi\/automation|child_process/);
    expect(text.length).toBeLessThan(6000);
  });
});
