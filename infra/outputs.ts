/**
 * The stack outputs contract: what every target's deployment exports and what the CLI (and
 * `pulumi stack output --json`) reads. One zod schema, so the program exports exactly this
 * shape and the CLI validates it instead of casting. Target-specific details (QEMU pids,
 * droplet ids, VMIDs) live in each instance's `extras`, typed by the target's own schema.
 */
import { z } from "zod";
import { HealthCheckSpecSchema, HealthReportSchema } from "./health/schema";

/**
 * Milliseconds per phase of one instance's deployment; a phase a target does not have is
 * absent. `firstPing`/`firstHttp200` count from the instance's creation (HealthReport's
 * firstReplyMs/firstOkMs), the others are durations.
 */
export const PhaseTimingsSchema = z
  .object({
    /** Kernel + image build (shared by every instance of the stack). */
    build: z.number().nonnegative(),
    /** Image upload to the target's storage (Spaces, a Proxmox storage). */
    upload: z.number().nonnegative(),
    /** The target's own image import (DigitalOcean Custom Image, Proxmox import-from). */
    import: z.number().nonnegative(),
    /** Instance create call → the target reports it running. */
    create: z.number().nonnegative(),
    /** Instance start → first ICMP echo reply. */
    firstPing: z.number().nonnegative(),
    /** Instance start → first GET /health 200 with the expected build. */
    firstHttp200: z.number().nonnegative(),
  })
  .partial();
export type PhaseTimings = z.infer<typeof PhaseTimingsSchema>;

/** One deployed instance, whatever the target. */
export const InstanceOutputSchema = z.object({
  /** `<stack>-<index>` (or the target's own naming), as messages name it. */
  name: z.string().min(1),
  /** The IPv4 address probes reach it at (absent where nothing but a forwarded port reaches it). */
  address: z.string().optional(),
  /** Base URL of its HTTP server, ending in `/`. */
  url: z.string().min(1),
  /** The report of the health check that gated the deployment. */
  health: HealthReportSchema,
  /** What that check probed and with which thresholds: `exoform check` probes the same way. */
  healthSpec: HealthCheckSpecSchema,
  phases: PhaseTimingsSchema.default({}),
  /** Monthly cost in USD of this instance by the target's price list or cost model. */
  monthlyCostUsd: z.number().nonnegative().optional(),
  /** Target-specific details, validated by the target's own schema where it reads them. */
  extras: z.record(z.string(), z.unknown()).default({}),
});
export type InstanceOutput = z.infer<typeof InstanceOutputSchema>;

/** Every stack's outputs. */
export const StackOutputsSchema = z.object({
  /** The target's registry name (`local`, `digitalocean`, `proxmox`, …). */
  target: z.string().min(1),
  /** The deployed image id (sha256 hex, image-builder). */
  imageId: z.string().regex(/^[0-9a-f]{64}$/),
  instances: z.array(InstanceOutputSchema),
  /** Monthly cost in USD of the whole stack (instances + stored images), where known. */
  monthlyCostUsd: z.number().nonnegative().optional(),
  /** Target-specific details of the stack (reserved IPs, image ids in the cloud, …). */
  extras: z.record(z.string(), z.unknown()).default({}),
});
export type StackOutputs = z.infer<typeof StackOutputsSchema>;
/** What a target's deploy returns: outputs, where values may still be Pulumi Outputs. */
export type StackOutputsInput = z.input<typeof StackOutputsSchema>;

/** Stack outputs that do not match the contract (an older exoform deployed them, or a bug). */
export class StackOutputsError extends Error {
  constructor(stack: string, problems: readonly string[]) {
    super(
      `${stack}: the stack outputs do not match exoform's outputs contract (run exoform up ${stack}):\n  ${problems.join("\n  ")}`,
    );
    this.name = "StackOutputsError";
  }
}

/**
 * The validated outputs of a deployed stack, or undefined when it exported none (never
 * deployed, or destroyed). Throws StackOutputsError naming each bad field.
 */
export function parseStackOutputs(
  stack: string,
  raw: Readonly<Record<string, unknown>>,
): StackOutputs | undefined {
  if (Object.keys(raw).length === 0) return undefined;
  const result = StackOutputsSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new StackOutputsError(
    stack,
    result.error.issues.map((i) => `${i.path.join(".") || "(outputs)"}: ${i.message}`),
  );
}
