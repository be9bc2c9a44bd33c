/**
 * Secret values the CLI must never print: the stack's `secure:` config values (as Pulumi
 * decrypts them), the passphrase and any token-like variable of the environment. Output masks
 * every message, result and event with `maskSecrets` before it is written.
 */

const secrets = new Set<string>();

/** What a secret value is replaced with. */
export const MASK = "[secret]";

/** Remembers `value` as secret (values shorter than 4 characters would mask too much). */
export function addSecret(value: unknown): void {
  if (typeof value !== "string") {
    if (value !== undefined && value !== null) addSecret(JSON.stringify(value));
    return;
  }
  if (value.length < 4) return;
  secrets.add(value);
  // The same value as it appears inside JSON text (messages quote values with JSON.stringify).
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) secrets.add(escaped);
}

/**
 * Remembers a config value Pulumi marks secret: the value itself and, when it is a structured
 * value (JSON text of an object or list: a `config set --secret --path` leaf makes the whole
 * top-level key secret), every string leaf in it — messages quote leaves, not the whole text.
 * Over-masks the non-secret leaves of such an object, which is the safe side.
 */
export function addSecretConfigValue(value: unknown): void {
  addSecret(value);
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      return;
    }
  }
  const visit = (v: unknown): void => {
    if (typeof v === "string") addSecret(v);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") Object.values(v).forEach(visit);
  };
  if (parsed && typeof parsed === "object") visit(parsed);
}

/** Environment variables whose values are secrets wherever they appear. */
const SECRET_ENV = /PASSPHRASE|TOKEN|SECRET|PASSWORD|ACCESS_KEY|PRIVATE_KEY/i;

/** Remembers the values of the environment's secret-looking variables. */
export function addEnvironmentSecrets(env: NodeJS.ProcessEnv = process.env): void {
  for (const [key, value] of Object.entries(env)) {
    if (SECRET_ENV.test(key) && !/_FILE$/.test(key)) addSecret(value);
  }
}

/** `text` with every known secret value replaced by {@link MASK}, longest first. */
export function maskSecrets(text: string): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join(MASK);
  return out;
}
