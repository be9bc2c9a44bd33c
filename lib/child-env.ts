/**
 * The environment of the processes exoform starts outside Pulumi (QEMU, dnsmasq, ping, the
 * in-namespace health probe): an allow-list, so that no passphrase, cloud token or run tag
 * reaches a long-lived daemon. Everything else they need is on their command line.
 */

/** Variables a child may inherit: where programs are, the locale and temporary files. */
export const CHILD_ENV_ALLOWED: readonly string[] = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "TERM",
  "TMPDIR",
  "TZ",
];

/** `env` reduced to the allow-listed variables. Pure. */
export function scrubbedEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const key of CHILD_ENV_ALLOWED) if (env[key] !== undefined) out[key] = env[key];
  return out;
}
