/**
 * The local target: the stack's image in QEMU on this machine, one QemuVm per instance, each
 * gated by a HealthCheck.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { buildImage, ImageBuildError, ImageConfigError } from "../../image-builder";
import type { StackConfig } from "../config";
import { stackFileFor } from "../config";
import { HealthCheck } from "../health/resource";
import type { HealthCheckSpec } from "../health/check";
import { encodeProgramEvent } from "../program-events";
import { stackStateDir } from "../state-dir";
import type { QemuVmInputs } from "./instance";
import { QemuVm } from "./vm";

export interface LocalInstanceArgs {
  /** Everything the VM starts with; see QemuVmInputs. */
  readonly vm: QemuVmInputs;
  /** Health thresholds and deadline from the stack configuration. */
  readonly health: StackConfig["health"];
  /** Why the instance has user-mode networking, appended to the ICMP skip reason. */
  readonly whyUserNetwork?: string;
}

/** One VM and the health check that gates it. */
export class LocalInstance extends pulumi.ComponentResource {
  readonly vm: QemuVm;
  readonly health: HealthCheck;

  constructor(name: string, args: LocalInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exoform:local:Instance", name, {}, opts);
    this.vm = new QemuVm(`${name}-qemu`, args.vm, { parent: this });
    const spec = pulumi
      .all([
        this.vm.httpUrl,
        this.vm.pingAddress,
        this.vm.icmpSkipReason,
        this.vm.netns,
        this.vm.startedAtEpochMs,
        this.vm.serialLog,
      ])
      .apply(
        ([
          httpUrl,
          pingAddress,
          skipReason,
          netns,
          startedAtEpochMs,
          serialLogPath,
        ]): HealthCheckSpec => ({
          instance: args.vm.instance,
          expectedBuild: args.vm.imageId,
          httpUrl: `${httpUrl}/health`,
          icmp: pingAddress
            ? { address: pingAddress }
            : { skipReason: skipReason ?? "no address to ping" },
          startedAtEpochMs,
          thresholds: args.health,
          ...(netns && { netns }),
          serialLogPath,
        }),
      );
    this.health = new HealthCheck(`${name}-health`, { spec }, { parent: this, dependsOn: this.vm });
    this.registerOutputs({ vm: this.vm, health: this.health });
  }
}

export async function deployLocal(opts: {
  stack: string;
  projectDir: string;
  config: StackConfig;
}): Promise<Record<string, unknown>> {
  const { stack, config } = opts;
  const stateDir = stackStateDir(opts.projectDir, stack);
  const image = await buildImage({
    config: config.image,
    outDir: path.join(stateDir, "images"),
    onEvent: (event) => pulumi.log.info(encodeProgramEvent(event), undefined, undefined, true),
  }).catch((e: Error) => {
    // The builder's errors are complete sentences: no stack trace in the engine's output.
    throw e instanceof ImageBuildError || e instanceof ImageConfigError
      ? new pulumi.RunError(e.message)
      : e;
  });
  const { network, whyUserNetwork } = chooseNetwork(stack, config.local.network);
  const instances = Array.from({ length: config.instances }, (_, i) => {
    const instance = new LocalInstance(`vm-${i}`, {
      vm: {
        instance: `${stack}-${i}`,
        stateDir,
        imagePath: image.raw.path,
        imageId: image.imageId,
        accel: config.local.accel,
        memoryMb: config.local.memoryMb,
        network,
        guestNetwork: config.image.network,
        httpPort: config.image.http.port,
      },
      health: config.health,
      whyUserNetwork,
    });
    const { vm } = instance;
    return pulumi.output({
      name: `${stack}-${i}`,
      url: vm.httpUrl.apply((u) => `${u}/`),
      network: network,
      netns: vm.netns,
      pingAddress: vm.pingAddress,
      pid: vm.pid,
      serialLog: vm.serialLog,
      pidFile: vm.pidFile,
      health: instance.health.report,
      healthSpec: instance.health.spec,
    });
  });
  return {
    target: "local",
    stateDir,
    imageId: image.imageId,
    imagePath: image.raw.path,
    instances,
  };
}

/** netns when this process may create network namespaces (and the tools exist), else user. */
function chooseNetwork(
  stack: string,
  wanted: "auto" | "netns" | "user",
): { network: "netns" | "user"; whyUserNetwork?: string } {
  if (wanted === "user")
    return { network: "user", whyUserNetwork: "exoform:local.network is user" };
  const missing = netnsPrerequisitesMissing();
  if (!missing) return { network: "netns" };
  if (wanted === "auto")
    return { network: "user", whyUserNetwork: `no network namespace: ${missing}` };
  throw new pulumi.RunError(
    `${stackFileFor(stack)}: exoform:local.network: netns is not possible here: ${missing}`,
  );
}

function netnsPrerequisitesMissing(): string | undefined {
  const status = fs.readFileSync("/proc/self/status", "utf8");
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "0";
  // CAP_NET_ADMIN for the tap and addresses, CAP_SYS_ADMIN for `ip netns add/exec` (setns).
  const caps = BigInt(`0x${capEff}`);
  const has = (bit: bigint) => ((caps >> bit) & 1n) === 1n;
  if (!has(12n) || !has(21n)) return "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)";
  for (const tool of ["ip", "dnsmasq"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `\`${tool}\` is not installed`;
    }
  }
  return undefined;
}
