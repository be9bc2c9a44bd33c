/**
 * Per-stack working files (image builds, instance pidfiles, QMP sockets, serial logs) live in
 * `<project>/.exoform/stacks/<stack>/`; `exoform down` removes the directory.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export function stackStateDir(projectDir: string, stack: string): string {
  return path.join(projectDir, ".exoform", "stacks", stack);
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
