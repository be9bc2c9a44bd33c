/**
 * `require()` of `dist/<relative>` in the exoform project as it is at run time, for the
 * serialized dynamic providers (they capture no absolute path, so the state keeps working when
 * the checkout moves). Self-contained: it is serialized by value into every provider.
 *
 * The project is `EXOFORM_PROJECT_DIR`, else the checkout whose node_modules runs the dynamic
 * provider host, else the nearest directory above the working directory with a Pulumi.yaml.
 */
export function requireTargetModule<T>(relative: string): T {
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
  if (!found)
    throw new Error(
      `cannot find exoform's dist/${relative} (looked in: ${candidates.join(", ") || "nothing"}): run pulumi from the exoform project after \`npm run build\`, or set EXOFORM_PROJECT_DIR`,
    );
  return require(path.join(found, "dist", relative)) as T;
}
