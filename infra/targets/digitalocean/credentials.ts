/**
 * The DigitalOcean target's credentials, always as Pulumi secrets. They are provider settings of
 * the `digitalocean` namespace (set with `pulumi config set --secret`), or the environment
 * variables the DigitalOcean provider itself reads [pulumi-digitalocean provider config:
 * DIGITALOCEAN_TOKEN / DIGITALOCEAN_ACCESS_TOKEN, SPACES_ACCESS_KEY_ID /
 * SPACES_SECRET_ACCESS_KEY]. A missing one is a RunError naming the command that sets it.
 */
import * as pulumi from "@pulumi/pulumi";
import { stackFileFor } from "../../config";
import type { SpacesCredentials } from "./spaces";

/** The `pulumi config set --secret …` line for a `digitalocean:<key>`. */
function setCommand(stack: string, key: string, placeholder: string): string {
  return `pulumi config set --secret digitalocean:${key} ${placeholder} --stack ${stack}`;
}

function secretSetting(
  stack: string,
  key: string,
  envVars: readonly string[],
  placeholder: string,
  what: string,
): pulumi.Output<string> {
  const fromConfig = new pulumi.Config("digitalocean").getSecret(key);
  if (fromConfig) return fromConfig;
  const env = envVars.map((v) => process.env[v]).find((v) => v);
  if (env) return pulumi.secret(env);
  throw new pulumi.RunError(
    `${stackFileFor(stack)}: digitalocean:${key} is not set (${what}). Set it with:\n  ${setCommand(stack, key, placeholder)}\n(or the environment variable ${envVars.join(" or ")})`,
  );
}

/** The Spaces key pair for the image upload, as one secret. */
export function spacesCredentials(stack: string): pulumi.Output<SpacesCredentials> {
  const accessKeyId = secretSetting(
    stack,
    "spacesAccessId",
    ["SPACES_ACCESS_KEY_ID"],
    "<spaces access key>",
    "the Spaces access key the image is uploaded with",
  );
  const secretAccessKey = secretSetting(
    stack,
    "spacesSecretKey",
    ["SPACES_SECRET_ACCESS_KEY"],
    "<spaces secret key>",
    "the secret of that Spaces access key",
  );
  return pulumi.secret(
    pulumi.all([accessKeyId, secretAccessKey]).apply(([id, secret]) => ({
      accessKeyId: id,
      secretAccessKey: secret,
    })),
  );
}

/**
 * Fails early, with the command to run, when the DigitalOcean API token is neither in the stack
 * config nor in the environment (the provider would otherwise fail on its first call).
 */
export function requireApiToken(stack: string): void {
  secretSetting(
    stack,
    "token",
    ["DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN"],
    "<api token>",
    "the DigitalOcean API token",
  );
}
