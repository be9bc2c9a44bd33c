/**
 * The exoform Pulumi program (`main: dist/infra/`), the same for every target: validate the
 * stack configuration, build the image once (deterministic and fast, so its id is known at plan
 * time and a changed body means a new id, hence replaced instances), hand `{stack, config,
 * image}` to the stack's target from the registry, and export its outputs in the shared
 * contract (infra/outputs.ts), validated.
 *
 * Progress: `exoform` reads structured events from the file it names (program-events.ts);
 * plain `pulumi preview/up` shows one short line per finished phase.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { BuildResult, buildImage, ImageBuildError, ImageConfigError } from "../image-builder";
import type { EventSink } from "../lib/events";
import { stackConfigFromPulumi } from "./config";
import { InstanceOutput, StackOutputsSchema } from "./outputs";
import { PROGRAM_EVENTS_ENV, sendToCli } from "./program-events";
import { programProjectDir, stackStateDir } from "./state-dir";
import { findTarget } from "./targets";

export = async (): Promise<Record<string, unknown>> => {
  const stack = pulumi.getStack();
  const projectDir = programProjectDir(pulumi.getRootDirectory());
  const config = stackConfigFromPulumi(
    stack,
    pulumi.runtime.allConfig(),
    (message) => new pulumi.RunError(message),
  );
  const target = findTarget(config.target)!;
  const dryRun = pulumi.runtime.isDryRun();
  const stateDir = stackStateDir(projectDir, stack);
  const emit = programEventSink();

  const started = Date.now();
  const image = await buildStackImage(config.image, path.join(stateDir, "images"), dryRun, emit);
  const buildMs = Date.now() - started;

  const outputs = await target.deploy({
    stack,
    projectDir,
    stateDir,
    config,
    settings: config.settings,
    image,
    dryRun,
    emit,
  });
  // Every instance shares the build; the contract is checked on the final values (after
  // preview's unknowns are resolved: apply callbacks do not run while values are unknown).
  const instances = pulumi
    .output(outputs.instances)
    .apply((list) =>
      (list as InstanceOutput[]).map((i) => ({ ...i, phases: { build: buildMs, ...i.phases } })),
    );
  const all: Record<string, pulumi.Input<unknown>> = { ...outputs, instances };
  const checked = pulumi.all(all).apply((values) => {
    const result = StackOutputsSchema.safeParse(values);
    if (
      result.success &&
      (result.data.target !== target.name || result.data.imageId !== image.imageId)
    ) {
      throw new pulumi.RunError(
        `the ${target.name} target exported target ${result.data.target} and image ${result.data.imageId}: expected ${target.name} and ${image.imageId}`,
      );
    }
    if (!result.success) {
      throw new pulumi.RunError(
        `the ${target.name} target exported outputs that break the outputs contract: ${result.error.message}`,
      );
    }
    return result.data;
  });
  // The target and the image id are known at plan time: exported as they are, a preview shows
  // them; the rest follows the validated values.
  return {
    ...Object.fromEntries(
      Object.keys(StackOutputsSchema.shape).map((key) => [
        key,
        checked.apply((o) => o[key as keyof typeof o]),
      ]),
    ),
    target: target.name,
    imageId: image.imageId,
  };
};

/**
 * Events of the program: structured to the CLI when it listens, and for plain `pulumi`, one
 * info line per finished or failed phase (start and progress would only be noise there).
 */
function programEventSink(): EventSink {
  return (event) => {
    sendToCli(event);
    if (!process.env[PROGRAM_EVENTS_ENV] && (event.status === "stop" || event.status === "error")) {
      pulumi.log.info(`${event.phase}: ${event.message}`);
    }
  };
}

/**
 * Builds the stack's image into `outDir`. During preview it builds into a temporary directory
 * that is removed at once, with the paths reported as the real build would have them (files are
 * named by the image id): a preview computes the id without leaving image files behind.
 */
async function buildStackImage(
  config: Parameters<typeof buildImage>[0]["config"],
  outDir: string,
  dryRun: boolean,
  emit: EventSink,
): Promise<BuildResult> {
  const dir = dryRun ? fs.mkdtempSync(path.join(os.tmpdir(), "exoform-preview-")) : outDir;
  try {
    const image = await buildImage({ config, outDir: dir, onEvent: emit });
    if (!dryRun) return image;
    const moved = <A extends { path: string }>(a: A): A => ({
      ...a,
      path: path.join(outDir, path.basename(a.path)),
    });
    return {
      ...image,
      raw: moved(image.raw),
      vmdk: moved(image.vmdk),
      gz: moved(image.gz),
      manifestPath: path.join(outDir, path.basename(image.manifestPath)),
    };
  } catch (e) {
    // The builder's errors are complete sentences: no stack trace in the engine's output.
    throw e instanceof ImageBuildError || e instanceof ImageConfigError
      ? new pulumi.RunError((e as Error).message)
      : e;
  } finally {
    if (dryRun) fs.rmSync(dir, { recursive: true, force: true });
  }
}
