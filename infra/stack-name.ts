/**
 * Stack names, checked before a name reaches Pulumi or the file system. The rules are Pulumi's
 * own (`tokens.ParseStackName`: 1 to 100 characters, each alphanumeric, `-`, `_` or `.`), plus
 * one of ours: a name made only of dots (`.`, `..`) is refused, because the stack's working
 * directory is `.exoform/stacks/<stack>/` and such a name would point outside it.
 */

/** Why `name` is not a usable stack name, or undefined when it is one. Pure. */
export function stackNameProblem(name: string): string | undefined {
  if (name === "") return "a stack name may not be empty";
  if (name.length > 100) return "a stack name cannot exceed 100 characters";
  const bad = /[^A-Za-z0-9_.-]/.exec(name);
  if (bad) {
    return `a stack name may only contain alphanumeric, hyphens, underscores, or periods: invalid character ${JSON.stringify(bad[0])} at position ${bad.index}`;
  }
  if (/^\.+$/.test(name)) return "a stack name may not consist of periods only";
  return undefined;
}

/** Throws `toError(message)` when `name` is not a usable stack name; returns it otherwise. */
export function checkStackName(name: string, toError: (message: string) => Error): string {
  const problem = stackNameProblem(name);
  if (problem) throw toError(`${JSON.stringify(name)} is not a stack name: ${problem}`);
  return name;
}
