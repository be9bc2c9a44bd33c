/**
 * Per-stack working files (image builds, instance pidfiles, QMP sockets, serial logs) live in
 * `<project>/.exoform/stacks/<stack>/`; `exoform down` removes the directory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkStackName } from "./stack-name";

/** `<project>/.exoform/stacks/<stack>/`; throws for a name that is not a usable stack name. */
export function stackStateDir(projectDir: string, stack: string): string {
  checkStackName(stack, (message) => new Error(message));
  return path.join(projectDir, ".exoform", "stacks", stack);
}

/**
 * Removes the stack's working directory and returns its path, or undefined when there was none.
 * Refuses anything that is not exactly one directory below `<project>/.exoform/stacks/` (and not
 * a symbolic link), so no stack name can remove more than its own files.
 */
export function removeStackStateDir(projectDir: string, stack: string): string | undefined {
  const dir = stackStateDir(projectDir, stack);
  const parent = path.resolve(projectDir, ".exoform", "stacks");
  if (path.dirname(path.resolve(dir)) !== parent || path.basename(dir) !== stack) {
    throw new Error(`refusing to remove ${dir}: not a stack's working directory`);
  }
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    return undefined;
  }
  if (!stat.isDirectory()) throw new Error(`refusing to remove ${dir}: not a directory`);
  fs.rmSync(dir, { recursive: true, force: true });
  return dir;
}

/**
 * The project directory as seen from inside the Pulumi program. The SDK's getRootDirectory()
 * is only filled in by recent language hosts (ours may pass a placeholder), and the program
 * runs with its own directory (dist/infra/, symlinks resolved) as cwd; so: the SDK's answer when
 * it is a real path, else EXOFORM_PROJECT_DIR (the CLI always sets it), else the nearest
 * Pulumi.yaml above the cwd.
 */
export function programProjectDir(sdkRootDirectory: string): string {
  if (
    path.isAbsolute(sdkRootDirectory) &&
    fs.existsSync(path.join(sdkRootDirectory, "Pulumi.yaml"))
  ) {
    return sdkRootDirectory;
  }
  if (process.env.EXOFORM_PROJECT_DIR) return path.resolve(process.env.EXOFORM_PROJECT_DIR);
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir)
      throw new Error("cannot find the project directory (no Pulumi.yaml above the program)");
  }
}
