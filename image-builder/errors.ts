/**
 * The image builder's two kinds of failure, so callers can tell the user's mistake (exit 2 in
 * the CLI) from a broken toolchain or kernel build (exit 1).
 */

/** One problem with an image configuration; `field` is a dotted path such as `http.port`. */
export interface ConfigProblem {
  readonly field?: string;
  readonly message: string;
}

/** The configuration is invalid: every problem, each naming its field, in one error. */
export class ImageConfigError extends Error {
  constructor(
    /** Where the configuration came from (a file, a stack), if the caller said. */
    readonly where: string | undefined,
    readonly problems: readonly ConfigProblem[],
  ) {
    const lines = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message));
    const prefix = `${where ? `${where}: ` : ""}invalid image configuration`;
    super(lines.length === 1 ? `${prefix}: ${lines[0]}` : `${prefix}:\n  ${lines.join("\n  ")}`);
    this.name = "ImageConfigError";
  }
}

/** The build itself failed: a missing tool, a failing `make`, boot software off the contract. */
export class ImageBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageBuildError";
  }
}
