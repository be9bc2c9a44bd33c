/**
 * The stack file `stacks/Pulumi.<stack>.yaml`, checked before Pulumi sees it (and before a stack
 * is created in the backend): a YAML syntax error, a directory in its place, a misspelled
 * top-level key or a value the configuration schema refuses is exit code 2 with the file and
 * the line (`stacks/Pulumi.local.yaml: line 3: …`). Parsed with the `yaml` library, which keeps
 * every node's position. `secure:` values (also nested ones, from `config set --secret --path`)
 * cannot be decrypted here: their keys are listed, and a file with a secure exoform value is
 * checked by the schema after Pulumi decrypted it only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isScalar, LineCounter, parseDocument, YAMLMap } from "yaml";
import { stackConfigFromPulumi } from "../infra/config";
import { CONFIG_NAMESPACE, stackFileFor } from "../infra/stack-file";
import { CliError, ExitCode } from "./exit-codes";

/** The top-level keys of a Pulumi stack settings file (pkg/workspace ProjectStack). */
export const STACK_FILE_KEYS = [
  "config",
  "encryptionsalt",
  "secretsprovider",
  "encryptedkey",
  "environment",
] as const;

/** A stack file that parsed and whose keys are known. */
export interface StackFile {
  /** Relative to the project: `stacks/Pulumi.<stack>.yaml`. */
  readonly relative: string;
  /** Its `config:` values as Pulumi would pass them (structured values as JSON text). */
  readonly flat: Readonly<Record<string, string>>;
  /** Keys whose values are `secure:` (encrypted). */
  readonly secureKeys: readonly string[];
  /** The `encryptionsalt:` line's value, if any. */
  readonly encryptionSalt?: string;
}

/** A stack file that cannot be used; the message names the file and, where known, the line. */
export class StackFileError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.Config);
    this.name = "StackFileError";
  }
}

/**
 * Reads and checks `stacks/Pulumi.<stack>.yaml`: undefined when there is none, the parsed file
 * otherwise; throws StackFileError (exit 2) for every kind of broken file. With `validate`, also
 * checks the exoform settings against the schema (unless one of them is secure).
 */
export function readStackFile(
  projectDir: string,
  stack: string,
  validate = true,
): StackFile | undefined {
  const relative = stackFileFor(stack);
  const file = path.join(projectDir, relative);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) throw new StackFileError(`${relative}: is not a file (a directory?)`);
  const text = fs.readFileSync(file, "utf8");
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? undefined : lines.linePos(offset).line;
  const fail = (line: number | undefined, message: string): never => {
    throw new StackFileError(
      `${relative}: ${line !== undefined ? `line ${line}: ` : ""}${message}`,
    );
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    fail(e.linePos?.[0].line ?? lineOf(e.pos[0]), `YAML syntax error: ${firstLine(e.message)}`);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) {
    return { relative, flat: {}, secureKeys: [] };
  }
  if (!isMap(root)) fail(lineOf(root.range?.[0]), "a stack file must be a mapping (config: …)");
  const map = root as YAMLMap;
  let configNode: YAMLMap | undefined;
  let encryptionSalt: string | undefined;
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const line = lineOf(isScalar(pair.key) ? pair.key.range?.[0] : undefined);
    if (!(STACK_FILE_KEYS as readonly string[]).includes(key)) {
      fail(
        line,
        `unknown top-level key ${JSON.stringify(key)}${suggestion(key)} (a stack file has: ${STACK_FILE_KEYS.join(", ")})`,
      );
    }
    if (key === "config") {
      if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) continue;
      if (!isMap(pair.value)) fail(line, "config: must be a mapping of keys to values");
      configNode = pair.value as YAMLMap;
    }
    if (key === "encryptionsalt" && isScalar(pair.value)) encryptionSalt = String(pair.value.value);
  }
  const flat: Record<string, string> = {};
  const secureKeys: string[] = [];
  for (const pair of configNode?.items ?? []) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const value = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
    if (containsSecure(value)) {
      secureKeys.push(key);
      continue;
    }
    flat[key] = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
  }
  const parsed = { relative, flat, secureKeys, encryptionSalt };
  const exoformSecure = secureKeys.some((k) => k.startsWith(`${CONFIG_NAMESPACE}:`));
  if (validate && !exoformSecure) {
    stackConfigFromPulumi(
      stack,
      flat,
      (message) => new StackFileError(withLines(message, doc, lines)),
    );
  }
  return parsed;
}

/**
 * Whether a config value is, or holds anywhere inside (`pulumi config set --secret --path
 * a.b`), a `secure:` value. Pure.
 */
function containsSecure(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (!Array.isArray(value) && "secure" in value) return true;
  return Object.values(value).some(containsSecure);
}

/** The first line of a library message, without its trailing position. */
function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

/** " (did you mean config?)" for a key one or two edits away from a known one. */
function suggestion(key: string): string {
  const near = STACK_FILE_KEYS.find((k) => editDistance(k, key.toLowerCase()) <= 2);
  return near ? ` (did you mean ${near}?)` : "";
}

/** Levenshtein distance. Pure. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The schema's message with `line N: ` before each problem whose field is in the file
 * (`  exoform:image.http.port: …` → `  line 9: exoform:image.http.port: …`).
 */
function withLines(
  message: string,
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
): string {
  return message
    .split("\n")
    .map((line) => {
      const m = /^ {2}(exoform:[^.:\s]+)((?:\.[^.:\s]+)*): /.exec(line);
      if (!m) return line;
      const at = ["config", m[1], ...m[2].split(".").filter(Boolean)];
      for (let n = at.length; n >= 2; n--) {
        const keyLine = lineOfKey(doc, at.slice(0, n), lines);
        if (keyLine !== undefined) return `  line ${keyLine}: ${line.slice(2)}`;
      }
      return line;
    })
    .join("\n");
}

/** The line of the key that `at` ends with, if the file has it. */
function lineOfKey(
  doc: ReturnType<typeof parseDocument>,
  at: readonly string[],
  lines: LineCounter,
): number | undefined {
  const parent = at.length > 1 ? doc.getIn(at.slice(0, -1), true) : doc.contents;
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === at.at(-1));
  const offset = pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
  return offset === undefined ? undefined : lines.linePos(offset).line;
}
