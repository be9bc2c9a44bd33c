/**
 * The Proxmox VE target's deployment: the image imported once into the node's import storage
 * (PveImage), then per instance a PveVm made from it and a HealthCheck gating it
 * (ProxmoxInstance).
 *
 * Blue/green by generation: every resource made from one image is named after the first 12 hex
 * digits of its id (`image-<id12>`, `vm-<i>-<id12>`), so a new image *creates* a new
 * generation beside the old one (each new VM on its own pool address) instead of replacing VMs
 * in place. The engine deletes the old generation only at the end of a run in which every new
 * VM passed its health check. A failing new VM fails the deployment; being a create of this
 * run, it is removed by `exoform up`'s rollback (unless --keep-failed), and the old generation
 * keeps serving, also through the next `up`. (A replacement in place could not be rolled back:
 * its URN also names the serving VM.) The DigitalOcean target does the same.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { HealthCheck } from "../../health/resource";
import type { HealthCheckSpec } from "../../health/check";
import type { HealthThresholds } from "../../health/thresholds";
import type { InstanceOutput, StackOutputsInput } from "../../outputs";
import { stackFileFor } from "../../stack-file";
import type { DeployContext } from "../target";
import type { PveConnection } from "./client";
import { importFilenameFor } from "./pve-rules";
import { PveImage, PveVm, PveVmArgs } from "./resources";
import { ProxmoxInstanceExtras, ProxmoxSettings, settingsProblemsFor, tlsFrom } from "./settings";
import type { PveTls } from "./tls";

export interface ProxmoxInstanceArgs {
  /** The VM: connection, node, image, storage, bridge, memory, addressing; see PveVmArgs. */
  readonly vm: PveVmArgs;
  /** The HTTP port of the image's server (image config `http.port`). */
  readonly httpPort: number;
  /** Health thresholds and deadline from the stack configuration. */
  readonly health: HealthThresholds;
  /** Run the probes inside this network namespace (settings `probeNetns`); absent: here. */
  readonly probeNetns?: string;
}

/** One VM and the health check that gates it. Type token `exoform:proxmox:Instance`. */
export class ProxmoxInstance extends pulumi.ComponentResource {
  readonly vm: PveVm;
  readonly health: HealthCheck;

  constructor(name: string, args: ProxmoxInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exoform:proxmox:Instance", name, {}, opts);
    this.vm = new PveVm(`${name}-vm`, args.vm, { parent: this });
    const spec = pulumi
      .all([this.vm.address, this.vm.startedAtEpochMs])
      .apply(([address, startedAtEpochMs]): HealthCheckSpec => ({
        instance: args.vm.instance,
        expectedBuild: args.vm.imageId,
        httpUrl: `${baseUrl(address, args.httpPort)}/health`,
        icmp: { address },
        startedAtEpochMs,
        thresholds: args.health,
        ...(args.probeNetns && { netns: args.probeNetns }),
      }));
    this.health = new HealthCheck(`${name}-health`, { spec }, { parent: this, dependsOn: this.vm });
    this.registerOutputs({ vm: this.vm, health: this.health });
  }
}

/** `http://a.b.c.d` (port 80) or `http://a.b.c.d:port`. Pure. */
export function baseUrl(address: string, port: number): string {
  return port === 80 ? `http://${address}` : `http://${address}:${port}`;
}

/** The connection from the settings: the token a Pulumi secret, a CA file read now. */
export function connectionFrom(
  settings: ProxmoxSettings,
  stack: string,
  projectDir: string,
): pulumi.Output<PveConnection> {
  let tls: PveTls;
  try {
    tls = tlsFrom(settings.tls, stackFileFor(stack), projectDir);
  } catch (e) {
    throw new pulumi.RunError((e as Error).message);
  }
  return pulumi.secret({
    endpoint: settings.endpoint,
    tokenId: settings.tokenId,
    tokenSecret: settings.tokenSecret,
    tls,
  });
}

export function deployProxmox(ctx: DeployContext<ProxmoxSettings>): StackOutputsInput {
  const { stack, config, settings, image } = ctx;
  const problems = settingsProblemsFor(settings, config.instances);
  if (problems.length > 0)
    throw new pulumi.RunError(
      `${stackFileFor(stack)}: invalid stack configuration:\n  ${problems.join("\n  ")}`,
    );
  const connection = connectionFrom(settings, stack, ctx.projectDir);
  const taskTimeoutMs = settings.taskTimeoutSeconds * 1000;
  const artefact = settings.imageFormat === "vmdk" ? image.vmdk : image.raw;
  const generation = image.imageId.slice(0, 12);
  const pveImage = new PveImage(`image-${generation}`, {
    connection,
    node: settings.node,
    storage: settings.importStorage,
    file: path.relative(ctx.projectDir, artefact.path),
    filename: importFilenameFor(image.imageId, settings.imageFormat),
    sha256: artefact.sha256,
    imageId: image.imageId,
    taskTimeoutMs,
  });
  const addressing = settings.addressing;
  const instances = Array.from({ length: config.instances }, (_, i) => {
    const name = `${stack}-${i}`;
    const instance = new ProxmoxInstance(`vm-${i}-${generation}`, {
      vm: {
        connection,
        node: settings.node,
        instance: name,
        imageId: image.imageId,
        volid: pveImage.volid,
        diskStorage: settings.diskStorage,
        bridge: settings.bridge,
        memoryMb: settings.memoryMb,
        addressing:
          addressing.mode === "static"
            ? {
                mode: "static",
                pool: addressing.pool,
                ...(addressing.gateway && { gateway: addressing.gateway }),
                slot: i,
                slots: config.instances,
              }
            : { mode: "dhcp" },
        taskTimeoutMs,
      },
      httpPort: config.image.http.port,
      health: config.health,
      ...(settings.probeNetns && { probeNetns: settings.probeNetns }),
    });
    const { vm, health } = instance;
    const timings = pulumi.all([vm.createMs, vm.startMs, pveImage.uploadMs, pveImage.importMs]);
    return pulumi
      .all([vm.vmid, vm.name, vm.mac, vm.address, timings, health.report, health.spec])
      .apply(
        ([
          vmid,
          vmName,
          mac,
          address,
          [createMs, startMs, uploadMs, importMs],
          report,
          spec,
        ]): InstanceOutput => {
          const extras: ProxmoxInstanceExtras = {
            vmid,
            node: settings.node,
            vmName,
            mac,
            endpoint: settings.endpoint,
            tokenId: settings.tokenId,
            ...(settings.tls && { tls: settings.tls }),
          };
          return {
            name,
            address,
            url: `${baseUrl(address, config.image.http.port)}/`,
            health: report,
            healthSpec: spec,
            phases: {
              upload: uploadMs,
              import: importMs,
              create: createMs + startMs,
              ...(report.icmp.firstReplyMs !== undefined && {
                firstPing: report.icmp.firstReplyMs,
              }),
              ...(report.http.firstOkMs !== undefined && { firstHttp200: report.http.firstOkMs }),
            },
            monthlyCostUsd: settings.monthlyCostUsdPerVm,
            extras,
          };
        },
      );
  });
  return {
    target: "proxmox",
    imageId: image.imageId,
    instances: pulumi.all(instances) as unknown as InstanceOutput[],
    monthlyCostUsd: settings.monthlyCostUsdPerVm * config.instances,
    extras: { node: settings.node, endpoint: settings.endpoint, volid: pveImage.volid },
  };
}
