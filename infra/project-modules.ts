/**
 * Dynamic providers are stored in the state as serialized closures, and `pulumi destroy` runs the
 * closure stored at create time, possibly after the project was moved or cloned elsewhere. So a
 * provider captures no absolute path: it asks `requireProjectModule` for a module by its path
 * below `dist/`, and the module is looked up in the project as it is *now*.
 *
 * Self-contained on purpose (it is serialized into every provider by value): node built-ins
 * are required inside, nothing from the enclosing module is used.
 */

/**
 * The project directory the current process belongs to, searched in this order:
 * `EXOFORM_PROJECT_DIR` (set by the `exoform` CLI and scripts/env.sh), the checkout that the
 * running Node script comes from (the dynamic-provider host runs from
 * `<project>/node_modules/@pulumi/pulumi/cmd/dynamic-provider/`), then the nearest directory
 * above the working directory holding a Pulumi.yaml. Throws when none has `dist/<relative>`.
 */
export function projectDirFor(relative: string): string {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const candidates: string[] = [];
  if (process.env.EXOFORM_PROJECT_DIR)
    candidates.push(path.resolve(process.env.EXOFORM_PROJECT_DIR));
  const script = process.argv[1] ?? "";
  const marker = `${path.sep}node_modules${path.sep}`;
  if (script.includes(marker)) candidates.push(script.slice(0, script.lastIndexOf(marker)));
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) candidates.push(dir);
    if (path.dirname(dir) === dir) break;
  }
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, "dist", relative)));
  if (found) return found;
  throw new Error(
    `cannot find exoform's dist/${relative} (looked in: ${candidates.join(", ") || "no project directory"}): ` +
      "run pulumi from the exoform project directory after `npm run build`, or set EXOFORM_PROJECT_DIR",
  );
}

/**
 * `require()` of `dist/<relative>` in the current project (see projectDirFor), e.g.
 * `requireProjectModule("infra/health/index.js")`. Throws with one line saying what to do when
 * the project cannot be found.
 */
export function requireProjectModule<T>(relative: string): T {
  const path = require("node:path") as typeof import("node:path");
  return require(path.join(projectDirFor(relative), "dist", relative)) as T;
}
