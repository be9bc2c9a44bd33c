/**
 * DigitalOceanInstance: one Droplet running the Custom Image, its own Firewall, and the health
 * check that gates it (probes from the machine running `pulumi up`, through the firewall).
 *
 * deploy.ts names instances after the image, so a new image makes new instances next to the
 * old ones (blue/green by generation). Should a Droplet still be replaced in place (e.g. a new
 * SSH key), Pulumi's default create-before-delete applies: Droplets are auto-named, so old and
 * new never collide, and the firewall follows its Droplet (replaceOnChanges on dropletIds)
 * instead of being moved off the old Droplet while it still runs.
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import type { HealthThresholds } from "../../health/thresholds";
import type { HealthCheckSpec } from "../../health/schema";
import { HealthCheck } from "../../health/resource";
import { baseUrl, createdAtEpochMs, elapsedMs, firewallRules } from "./plan";
import { Timestamp } from "./resources";

/** What one DigitalOceanInstance needs; all plain values except the image and key ids. */
export interface DigitalOceanInstanceArgs {
  /** `<stack>-<region>-<index>`: the instance as messages name it. */
  readonly instance: string;
  /** Region slug, e.g. `nyc3`. */
  readonly region: string;
  /** Droplet size slug, e.g. `s-1vcpu-512mb-10gb`. */
  readonly size: string;
  /** The Custom Image's DO id (`image`, which DO cannot change on a running Droplet). */
  readonly doImageId: pulumi.Input<string>;
  /** The exoform image id: what `GET /health` must report as `build`. */
  readonly imageId: string;
  /** Fingerprint of the stack's SSH key (DO wants one for custom images). */
  readonly sshKeyFingerprint: pulumi.Input<string>;
  /** Tags on the Droplet. */
  readonly tags: readonly string[];
  /** The port the kernel serves HTTP on (the image's `http.port`). */
  readonly httpPort: number;
  /** Health thresholds (`exoform:health`). */
  readonly health: HealthThresholds;
}

/** Component `exoform:digitalocean:Instance`: Droplet, its Firewall, Timestamp, HealthCheck. */
export class DigitalOceanInstance extends pulumi.ComponentResource {
  readonly droplet: digitalocean.Droplet;
  readonly firewall: digitalocean.Firewall;
  readonly health: HealthCheck;
  /** Droplet create call → DO reports it active (ms; DO's clock to this machine's). */
  readonly createMs: pulumi.Output<number>;
  /** `http://<ipv4>[:port]/`. */
  readonly url: pulumi.Output<string>;

  constructor(
    name: string,
    args: DigitalOceanInstanceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("exoform:digitalocean:Instance", name, {}, opts);
    this.droplet = new digitalocean.Droplet(
      `${name}-droplet`,
      {
        image: args.doImageId,
        region: args.region,
        size: args.size,
        sshKeys: [args.sshKeyFingerprint],
        tags: [...args.tags],
        // Custom images get no IPv6 and cannot enable monitoring at create [DO limits page].
        ipv6: false,
        monitoring: false,
      },
      { parent: this },
    );
    const rules = firewallRules(args.httpPort);
    this.firewall = new digitalocean.Firewall(
      `${name}-firewall`,
      {
        dropletIds: [this.droplet.id.apply(Number)],
        inboundRules: rules.inbound.map((r) => ({
          protocol: r.protocol,
          portRange: r.portRange,
          sourceAddresses: [...r.addresses],
        })),
        outboundRules: rules.outbound.map((r) => ({
          protocol: r.protocol,
          portRange: r.portRange,
          destinationAddresses: [...r.addresses],
        })),
      },
      // A replaced Droplet gets a new firewall; the old one stays on the old Droplet until
      // both are deleted (an in-place update would leave the old Droplet unprotected).
      { parent: this, replaceOnChanges: ["dropletIds"] },
    );
    const ready = new Timestamp(
      `${name}-active`,
      { subject: this.droplet.id },
      { parent: this, dependsOn: [this.droplet] },
    );
    const startedAt = pulumi
      .all([this.droplet.createdAt, ready.epochMs])
      .apply(([createdAt, readyAt]) => createdAtEpochMs(createdAt, readyAt));
    this.createMs = pulumi
      .all([startedAt, ready.epochMs])
      .apply(([from, to]) => elapsedMs(from, to));
    this.url = this.droplet.ipv4Address.apply((ip) => baseUrl(ip, args.httpPort));
    const spec = pulumi
      .all([this.droplet.ipv4Address, this.url, startedAt])
      .apply(([address, url, startedAtEpochMs]): HealthCheckSpec => ({
        instance: args.instance,
        expectedBuild: args.imageId,
        httpUrl: `${url}health`,
        icmp: { address },
        startedAtEpochMs,
        thresholds: args.health,
      }));
    this.health = new HealthCheck(
      `${name}-health`,
      { spec },
      { parent: this, dependsOn: [this.droplet, this.firewall] },
    );
    this.registerOutputs({ droplet: this.droplet, health: this.health });
  }
}
