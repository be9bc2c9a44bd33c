/**
 * Stack configuration: the `exoform:*` keys of `stacks/Pulumi.<stack>.yaml`, validated with one
 * zod schema that both the Pulumi program and the CLI use. Errors name the stack file, then each
 * field (`stacks/Pulumi.local.yaml: invalid stack configuration:` and
 * `  exoform:health.deadlineSeconds: ...`).
 */
import * as path from "node:path";
import { z } from "zod";
import { describeConfigIssue, ImageConfigSchema } from "../image-builder";
import { HealthThresholdsSchema } from "./health/thresholds";

/** The Pulumi config namespace of every exoform key (the project name). */
export const CONFIG_NAMESPACE = "exoform";

/** Where a stack's configuration lives, relative to the project (`stackConfigDir: stacks`). */
export function stackFileFor(stack: string): string {
  return path.join("stacks", `Pulumi.${stack}.yaml`);
}

export const TARGETS = ["local", "digitalocean", "proxmox"] as const;
export type Target = (typeof TARGETS)[number];

/** Options of the local target (QEMU on this machine). */
export const LocalTargetSchema = z
  .object({
    /** tcg (default: works everywhere) or kvm (needs a usable /dev/kvm). */
    accel: z.enum(["tcg", "kvm"]).default("tcg"),
    /** Guest memory in MiB; when absent, infra/local/qemu.ts's default (what the kernel is made for). */
    memoryMb: z.number().int().min(2).max(4096).optional(),
    /**
     * netns: a network namespace with tap + dnsmasq (needs root or CAP_NET_ADMIN; ICMP and
     * HTTP are checked). user: QEMU user-mode networking with a forwarded HTTP port (ICMP is
     * skipped). auto: netns when allowed, else user.
     */
    network: z.enum(["auto", "netns", "user"]).default("auto"),
  })
  .strict();

export const StackConfigSchema = z
  .object({
    target: z.enum(TARGETS),
    image: ImageConfigSchema.default(ImageConfigSchema.parse({})),
    instances: z.number().int().min(1).max(8).default(1),
    health: HealthThresholdsSchema.default(HealthThresholdsSchema.parse({})),
    local: LocalTargetSchema.default(LocalTargetSchema.parse({})),
  })
  .strict();
export type StackConfig = z.infer<typeof StackConfigSchema>;
/** The settings every target shares: image, instance count, health thresholds. */
export type CommonStackConfig = Pick<StackConfig, "image" | "instances" | "health">;

/** A stack configuration that does not validate; the message names the file and every field. */
export class StackConfigError extends Error {
  constructor(
    readonly stackFile: string,
    readonly problems: readonly string[],
  ) {
    super(`${stackFile}: invalid stack configuration:\n  ${problems.join("\n  ")}`);
    this.name = "StackConfigError";
  }
}

/**
 * Turns Pulumi's flat config map (`{"exoform:target": "local", "exoform:image": "{...}"}`,
 * structured values as JSON text, scalars as text) into the object the schema checks. Keys of
 * other namespaces (provider settings such as `digitalocean:token`) are left out.
 */
export function exoformConfigFromPulumi(flat: Readonly<Record<string, unknown>>): {
  [key: string]: unknown;
} {
  const out: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [key, value] of Object.entries(flat)) {
    if (!key.startsWith(prefix)) continue;
    out[key.slice(prefix.length)] = typeof value === "string" ? decodeConfigText(value) : value;
  }
  return out;
}

function decodeConfigText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Validates the `exoform:*` config of one stack; throws StackConfigError naming the fields. */
export function parseStackConfig(
  config: Readonly<Record<string, unknown>>,
  stackFile: string,
): StackConfig {
  const result = StackConfigSchema.safeParse(config);
  if (result.success) return result.data;
  throw new StackConfigError(
    stackFile,
    result.error.issues.flatMap((issue) => describeIssue(issue, config)),
  );
}

/**
 * The validated configuration of `stack` from Pulumi's flat config map; a StackConfigError
 * becomes `toError(message)`, the error type of the caller (CLI or Pulumi program).
 */
export function stackConfigFromPulumi(
  stack: string,
  flat: Readonly<Record<string, unknown>>,
  toError: (message: string) => Error,
): StackConfig {
  try {
    return parseStackConfig(exoformConfigFromPulumi(flat), stackFileFor(stack));
  } catch (e) {
    if (e instanceof StackConfigError) throw toError(e.message);
    throw e;
  }
}

/** One line per problem: `exoform:<key>.<field>: <what is wrong>`. */
function describeIssue(issue: z.core.$ZodIssue, input: unknown): string[] {
  return describeConfigIssue(issue, input).map(({ field, message }) =>
    field ? `${CONFIG_NAMESPACE}:${field}: ${message}` : message,
  );
}

/** Targets the schema accepts but no provider implements yet; the CLI refuses them early too. */
export function targetNotImplemented(stack: string, target: Target): string | undefined {
  if (target === "local") return undefined;
  return `${stackFileFor(stack)}: exoform:target: the ${target} target is not implemented yet (only "local" is)`;
}
