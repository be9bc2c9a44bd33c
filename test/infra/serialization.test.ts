/**
 * Dynamic providers are stored in the state as serialized closures. Ours must serialize into
 * small stubs that capture no absolute path (the project may move before `destroy` runs the
 * stored code), nothing but the module's path below dist/, and find it at run time.
 */
import * as pulumi from "@pulumi/pulumi";
import { healthCheckProvider } from "../../infra/health/resource";
import { qemuVmProvider } from "../../infra/targets/local/vm";
import { repoRoot } from "../helpers/pulumi";

describe("dynamic providers serialize into small, location-free stubs", () => {
  test.each([
    ["QemuVm", () => qemuVmProvider, "infra/targets/local/instance.js"],
    ["HealthCheck", () => healthCheckProvider, "infra/health/index.js"],
  ])("%s", async (_name, provider, modulePath) => {
    const serialized = await pulumi.runtime.serializeFunction(provider);
    const text = serialized.text;
    expect(text).toContain(`"${modulePath}"`);
    expect(text).toContain("requireProjectModule");
    expect(text).not.toContain(repoRoot);
    // No SDK, schema or client object captured: only the stub and its module path.
    expect(text).not.toMatch(/zod|ZodObject|@pulumi\/pulumi\/automation|child_process/);
    expect(text.length).toBeLessThan(6000);
  });
});
