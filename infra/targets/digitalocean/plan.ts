/**
 * The DigitalOcean target's pure decisions (names, tags, firewall rules, costs), kept out of the
 * components so they can be tested without Pulumi.
 */
import { createHash } from "node:crypto";
import type { DigitalOceanSettings } from "./settings";

/**
 * The name part of a Droplet generation: 12 hex digits of sha256(image id, size). A new image
 * *or a new size* starts a new generation beside the old one: DO powers a Droplet off to
 * resize it, which the Droplet behind a reserved IP must not do in place. Pure.
 */
export function dropletGeneration(imageId: string, size: string): string {
  return createHash("sha256").update(`${imageId}\n${size}`).digest("hex").slice(0, 12);
}

/** One Droplet to run: which region, which slot in it, and its name in messages. */
export interface PlannedInstance {
  readonly region: string;
  /** 0-based within the region. */
  readonly index: number;
  /** `<stack>-<region>-<index>`, as messages and the outputs name it. */
  readonly instance: string;
}

/** `dropletsPerRegion` (default `exoform:instances`) Droplets in every region, in order. */
export function planInstances(
  stack: string,
  settings: Pick<DigitalOceanSettings, "regions" | "dropletsPerRegion">,
  instances: number,
): PlannedInstance[] {
  const perRegion = settings.dropletsPerRegion ?? instances;
  return settings.regions.flatMap((region) =>
    Array.from({ length: perRegion }, (_, index) => ({
      region,
      index,
      instance: `${stack}-${region}-${index}`,
    })),
  );
}

/** A value DO accepts in a tag: `[A-Za-z0-9:_-]`, other characters become `_`. */
function tagValue(text: string): string {
  return text.replace(/[^A-Za-z0-9:_-]/g, "_");
}

/**
 * Tags on the Custom Image and the Droplets: `exoform`, `exoform-stack:<stack>`,
 * `exoform-image:<image id>` (the full 64 hex digits), then the user's, without repeats.
 */
export function resourceTags(stack: string, imageId: string, extra: readonly string[]): string[] {
  const tags = [
    "exoform",
    `exoform-stack:${tagValue(stack)}`,
    `exoform-image:${imageId}`,
    ...extra,
  ];
  return [...new Set(tags.map((t) => t.slice(0, 255)))];
}

/** A firewall rule in @pulumi/digitalocean's input shape (FirewallInboundRule / OutboundRule). */
export interface FirewallRule {
  readonly protocol: "tcp" | "udp" | "icmp";
  readonly portRange?: string;
  readonly addresses: readonly string[];
}

const ANYWHERE = ["0.0.0.0/0", "::/0"] as const;

/**
 * What a Droplet of ours needs: inbound ICMP (the ping probe) and TCP on the HTTP port;
 * outbound UDP 67-68 for DHCP, which custom-image Droplets use for their address and which a
 * DO firewall otherwise blocks [DO firewall limits]. Replies are allowed by the firewall being
 * stateful.
 */
export function firewallRules(httpPort: number): {
  inbound: FirewallRule[];
  outbound: FirewallRule[];
} {
  return {
    inbound: [
      { protocol: "icmp", addresses: [...ANYWHERE] },
      { protocol: "tcp", portRange: String(httpPort), addresses: [...ANYWHERE] },
    ],
    outbound: [{ protocol: "udp", portRange: "67-68", addresses: [...ANYWHERE] }],
  };
}

/** `http://<host>/` or `http://<host>:<port>/`. */
export function baseUrl(host: string, port: number): string {
  return port === 80 ? `http://${host}/` : `http://${host}:${port}/`;
}

/**
 * The stack's monthly cost in USD: every Droplet's `priceMonthly` plus the Custom Image's
 * storage (`sizeGigabytes` × price per GB-month; billed once per image, whatever its regions —
 * DO's pricing page states no per-region charge). Reserved IPs assigned to a Droplet are free.
 * Rounded to cents.
 */
export function stackMonthlyCostUsd(
  dropletPricesMonthly: readonly number[],
  imageSizeGigabytes: number,
  usdPerGbMonth: number,
): number {
  const total =
    dropletPricesMonthly.reduce((sum, p) => sum + p, 0) + imageSizeGigabytes * usdPerGbMonth;
  return Math.round(total * 100) / 100;
}

/** Milliseconds from `from` to `to`, never negative (clocks of DO and this machine differ). */
export function elapsedMs(from: number, to: number): number {
  return Math.max(0, Math.round(to - from));
}

/**
 * A Droplet's `createdAt` (ISO 8601 from the API) as epoch ms; `fallback` when it does not
 * parse.
 */
export function createdAtEpochMs(createdAt: string | undefined, fallback: number): number {
  const t = createdAt ? Date.parse(createdAt) : NaN;
  return Number.isFinite(t) ? t : fallback;
}
