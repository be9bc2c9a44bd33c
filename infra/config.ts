/**
 * Stack configuration: the `exoform:*` keys of `stacks/Pulumi.<stack>.yaml`, validated with zod
 * by both the Pulumi program and the CLI. The schema is a union on `exoform:target`: the keys
 * every target shares (image, instances, health) plus the chosen target's own settings key
 * (`exoform:<target>`, checked by that target's schema from the registry). Settings of another
 * target are an error naming their key. Errors name the stack file, then each field
 * (`stacks/Pulumi.local.yaml: invalid stack configuration:` and
 * `  exoform:health.deadlineSeconds: ...`).
 */
import { z } from "zod";
import { describeConfigIssue, ImageConfigSchema } from "../image-builder";
import { HealthThresholdsSchema } from "./health/thresholds";
import { CONFIG_NAMESPACE, stackFileFor } from "./stack-file";
import { findTarget, settingsKeys, unknownTargetProblem } from "./targets";

export { CONFIG_NAMESPACE, stackFileFor };

/** The settings every target shares. */
export const CommonStackConfigSchema = z.object({
  image: ImageConfigSchema.default(ImageConfigSchema.parse({})),
  /** Instances to run (per region or node, where the target has several). */
  instances: z.number().int().min(1).max(8).default(1),
  health: HealthThresholdsSchema.default(HealthThresholdsSchema.parse({})),
});
/** The settings every target shares: image, instance count, health thresholds. */
export type CommonStackConfig = z.infer<typeof CommonStackConfigSchema>;

/** A validated stack configuration: the shared settings, the target, and its own settings. */
export interface StackConfig extends CommonStackConfig {
  /** A registered target's name (`exoform:target`). */
  readonly target: string;
  /** `exoform:<target>`, validated by the target's settingsSchema (defaults applied). */
  readonly settings: unknown;
}

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

/**
 * Validates the `exoform:*` config of one stack (keys without the namespace); throws
 * StackConfigError naming every field: a missing or unknown target, settings of another
 * target, unknown keys, and each invalid value of the shared and the target's settings.
 */
export function parseStackConfig(
  config: Readonly<Record<string, unknown>>,
  stackFile: string,
): StackConfig {
  const problems: string[] = [];
  const name = config.target;
  const target = typeof name === "string" ? findTarget(name) : undefined;
  if (name === undefined) problems.push(`${CONFIG_NAMESPACE}:target: required setting is missing`);
  else if (!target) problems.push(`${CONFIG_NAMESPACE}:target: ${unknownTargetProblem(name)}`);

  const common = CommonStackConfigSchema.safeParse(config);
  if (!common.success) problems.push(...describeIssues(common.error.issues, config));
  let settings: unknown;
  if (target) {
    const raw = config[target.name] ?? {};
    const parsed = target.settingsSchema.safeParse(raw);
    if (parsed.success) settings = parsed.data;
    else {
      const prefixed = parsed.error.issues.map((i) => ({ ...i, path: [target.name, ...i.path] }));
      problems.push(...describeIssues(prefixed, { ...config, [target.name]: raw }));
    }
  }
  if (typeof name === "string") {
    for (const other of settingsKeys().filter((t) => t !== name && t in config)) {
      problems.push(
        `${CONFIG_NAMESPACE}:${other}: settings of the ${other} target, but exoform:target is ${JSON.stringify(name)}: remove the key or change the target`,
      );
    }
  }
  const known = new Set([
    "target",
    ...Object.keys(CommonStackConfigSchema.shape),
    ...settingsKeys(),
  ]);
  for (const key of Object.keys(config).filter((k) => !known.has(k))) {
    problems.push(`${CONFIG_NAMESPACE}:${key}: unknown setting`);
  }
  if (problems.length > 0 || !common.success || !target) {
    throw new StackConfigError(stackFile, problems);
  }
  return { target: target.name, ...common.data, settings };
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
function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues.flatMap((issue) =>
    describeConfigIssue(issue, input).map(({ field, message }) =>
      field ? `${CONFIG_NAMESPACE}:${field}: ${message}` : message,
    ),
  );
}
