/**
 * The local target's deployment: the stack's image in QEMU on this machine, one QemuVm per
 * instance, each gated by a HealthCheck.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { HealthCheck } from "../../health/resource";
import type { HealthCheckSpec } from "../../health/check";
import type { HealthThresholds } from "../../health/thresholds";
import type { InstanceOutput, StackOutputsInput } from "../../outputs";
import { stackFileFor } from "../../stack-file";
import type { DeployContext } from "../target";
import type { QemuVmInputs } from "./instance";
import type { LocalInstanceExtras, LocalSettings } from "./settings";
import { QemuVm } from "./vm";

export interface LocalInstanceArgs {
  /** Everything the VM starts with; see QemuVmInputs. */
  readonly vm: QemuVmInputs;
  /** Health thresholds and deadline from the stack configuration. */
  readonly health: HealthThresholds;
  /** Why the instance has user-mode networking, appended to the ICMP skip reason. */
  readonly whyUserNetwork?: string;
}

/** One VM and the health check that gates it. Type token `exoform:local:Instance`. */
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
          serialLog,
        ]): HealthCheckSpec => ({
          instance: args.vm.instance,
          expectedBuild: args.vm.imageId,
          httpUrl: `${httpUrl}/health`,
          icmp: pingAddress
            ? { address: pingAddress }
            : { skipReason: icmpSkipReason(skipReason, args.whyUserNetwork) },
          startedAtEpochMs,
          thresholds: args.health,
          ...(netns && { netns }),
          consoleLogPath: serialLog,
        }),
      );
    this.health = new HealthCheck(`${name}-health`, { spec }, { parent: this, dependsOn: this.vm });
    this.registerOutputs({ vm: this.vm, health: this.health });
  }
}

/** "QEMU user-mode networking …; no network namespace: needs root (…)". Pure. */
export function icmpSkipReason(skipReason: string | undefined, whyUserNetwork?: string): string {
  const reason = skipReason ?? "no address to ping";
  return whyUserNetwork
    ? `${reason} (user-mode networking was chosen because ${whyUserNetwork})`
    : reason;
}

export function deployLocal(ctx: DeployContext<LocalSettings>): StackOutputsInput {
  const { stack, config, settings, image } = ctx;
  const stateDir = path.relative(ctx.projectDir, ctx.stateDir);
  const { network, whyUserNetwork } = chooseNetwork(stack, settings.network);
  const instances = Array.from({ length: config.instances }, (_, i) => {
    const name = `${stack}-${i}`;
    const instance = new LocalInstance(`vm-${i}`, {
      vm: {
        instance: name,
        stateDir,
        imagePath: path.relative(ctx.projectDir, image.raw.path),
        imageId: image.imageId,
        accel: settings.accel,
        memoryMb: settings.memoryMb,
        network,
        guestNetwork: config.image.network,
        httpPort: config.image.http.port,
      },
      health: config.health,
      whyUserNetwork,
    });
    const { vm, health } = instance;
    return pulumi
      .all([vm.httpUrl, vm.pingAddress, vm.netns, vm.pid, vm.serialLog, vm.pidFile, vm.createMs])
      .apply(([httpUrl, pingAddress, netns, pid, serialLog, pidFile, createMs]) => {
        const extras: LocalInstanceExtras = {
          network,
          ...(netns && { netns }),
          pid,
          pidFile,
          serialLog,
        };
        return pulumi.all([health.report, health.spec]).apply(([report, spec]): InstanceOutput => ({
          name,
          ...(pingAddress && { address: pingAddress }),
          url: `${httpUrl}/`,
          health: report,
          healthSpec: spec,
          phases: {
            create: createMs,
            ...(report.icmp.firstReplyMs !== undefined && {
              firstPing: report.icmp.firstReplyMs,
            }),
            ...(report.http.firstOkMs !== undefined && { firstHttp200: report.http.firstOkMs }),
          },
          monthlyCostUsd: 0,
          extras,
        }));
      });
  });
  return {
    target: "local",
    imageId: image.imageId,
    instances: pulumi.all(instances) as unknown as InstanceOutput[],
    monthlyCostUsd: 0,
    extras: { stateDir },
  };
}

/** netns when this process may create network namespaces (and the tools exist), else user. */
function chooseNetwork(
  stack: string,
  wanted: LocalSettings["network"],
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
