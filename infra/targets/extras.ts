/** Reading a target's own `extras` from an instance of the outputs contract. */
import type { z } from "zod";
import type { InstanceOutput } from "../outputs";

/**
 * `instance.extras` validated by the target's extras schema; throws naming the instance and
 * the target (`web-0: not a Proxmox instance's outputs: …`) when they do not match.
 */
export function instanceExtras<S extends z.ZodType>(
  schema: S,
  instance: InstanceOutput,
  targetLabel: string,
): z.infer<S> {
  const parsed = schema.safeParse(instance.extras);
  if (parsed.success) return parsed.data;
  throw new Error(
    `${instance.name}: not a ${targetLabel} instance's outputs: ${parsed.error.issues[0]?.message}`,
  );
}
