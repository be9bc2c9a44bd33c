/**
 * The exoform Pulumi program (`main: dist/infra/`): validates the stack configuration, builds
 * the image (deterministic and fast, so its id is known at plan time and a changed body means a
 * new id, hence replaced instances), then hands over to the stack's target.
 */
import * as pulumi from "@pulumi/pulumi";
import { StackConfig, stackConfigFromPulumi, targetNotImplemented } from "./config";
import { deployLocal } from "./local";
import { programProjectDir } from "./state-dir";

export = async (): Promise<Record<string, unknown>> => {
  const stack = pulumi.getStack();
  const config = loadStackConfig(stack);
  switch (config.target) {
    case "local":
      return deployLocal({
        stack,
        projectDir: programProjectDir(pulumi.getRootDirectory()),
        config,
      });
    case "digitalocean":
    case "proxmox":
      throw new pulumi.RunError(targetNotImplemented(stack, config.target)!);
  }
};

function loadStackConfig(stack: string): StackConfig {
  return stackConfigFromPulumi(
    stack,
    pulumi.runtime.allConfig(),
    (message) => new pulumi.RunError(message),
  );
}
