/** Where a stack's settings live and how their keys are spelt. */
import * as path from "node:path";

/** The Pulumi config namespace of every exoform key (the project name). */
export const CONFIG_NAMESPACE = "exoform";

/** Where a stack's configuration lives, relative to the project (`stackConfigDir: stacks`). */
export function stackFileFor(stack: string): string {
  return path.join("stacks", `Pulumi.${stack}.yaml`);
}
