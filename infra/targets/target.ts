/**
 * The seam between the shared program and each deployment target. A target is one folder under
 * infra/targets/ exporting a `Target` and one line in the registry (infra/targets/index.ts).
 * The shared program (infra/index.ts) validates the stack configuration, builds the image once
 * and calls `deploy`; the CLI reaches targets only through the registry, for the optional
 * capabilities below.
 */
import type { z } from "zod";
import type { BuildResult } from "../../image-builder";
import type { EventSink } from "../../lib/events";
import type { CommonStackConfig } from "../config";
import type { InstanceOutput, StackOutputsInput } from "../outputs";

/** What `deploy` gets: the stack, its validated config, and the image already built. */
export interface DeployContext<Settings> {
  /** The Pulumi stack name. */
  readonly stack: string;
  /** The project directory (where Pulumi.yaml is), absolute. */
  readonly projectDir: string;
  /** `<project>/.exoform/stacks/<stack>/`: the stack's working files; `exoform down` removes it. */
  readonly stateDir: string;
  /** The settings every target shares (image, instances, health). */
  readonly config: CommonStackConfig;
  /** The target's own settings (`exoform:<target>`), validated by `settingsSchema`. */
  readonly settings: Settings;
  /** The image, built once per run; during preview its files are temporary (see `image`). */
  readonly image: BuildResult;
  /** True during `pulumi preview` (nothing is created; the image files are deleted after). */
  readonly dryRun: boolean;
  /** Progress for the user: a short line in plain `pulumi up`, a structured event in `exoform`. */
  readonly emit: EventSink;
}

/** Operations of the Pulumi engine's resource steps, as engine events name them. */
export type StepOp =
  | "create"
  | "create-replacement"
  | "update"
  | "delete"
  | "delete-replaced"
  | "replace"
  | "read"
  | "refresh"
  | "same";

/** How the CLI names the steps of one resource type: a phase and, per op, [starting, done]. */
export interface ResourcePhase {
  /** The progress phase, e.g. "instance", "image", "network". */
  readonly phase: string;
  readonly verbs: Partial<Record<StepOp, readonly [starting: string, done: string]>>;
  /** Extra words after "done" from the resource's outputs, e.g. "(pid 123, netns …)". */
  detail?(outputs: Readonly<Record<string, unknown>>): string;
}

/** A console log as a target can supply it. */
export interface ConsoleLog {
  /** Where it came from, for messages: a file path or an API URL (never with credentials). */
  readonly source: string;
  /** Its text, `\r` removed; undefined when the target has none (yet). */
  readonly text?: string;
}

/** Which stack's instances a target looks for, outside a deployment (no settings needed). */
export interface InstanceScope {
  /** The Pulumi stack name (already validated). */
  readonly stack: string;
  /** The project directory, absolute. */
  readonly projectDir: string;
}

/** An instance a target found running (or half made) for a stack, owned by the state or not. */
export interface FoundInstance {
  /**
   * The id Pulumi's state records for the instance's resource (local: the QemuVm id
   * `<stack>-<n>-<hex>`; clouds: the droplet or VM id), so the CLI can tell owned from orphaned.
   */
  readonly id: string;
  /** One line for the user: what was found, e.g. "e2e-0-1a2b3c4d (qemu pid 123, netns …)". */
  readonly description: string;
}

export interface Target<Settings = unknown> {
  /** The `exoform:target` value and the settings key (`exoform:<name>`). */
  readonly name: string;
  /** Validates `exoform:<name>`; every field has a default or is required with a clear message. */
  readonly settingsSchema: z.ZodType<Settings, unknown>;
  /**
   * Declares the target's resources and returns the stack outputs (outputs contract). Runs
   * inside the Pulumi program; may return Pulumi Outputs inside the object.
   */
  deploy(ctx: DeployContext<Settings>): Promise<StackOutputsInput> | StackOutputsInput;
  /** Progress wording of the target's resource types (type token → phase), for the CLI. */
  readonly resourcePhases?: Readonly<Record<string, ResourcePhase>>;
  /** The console log of a deployed instance (`exoform logs`, failure messages). */
  readConsole?(instance: InstanceOutput): Promise<ConsoleLog>;
  /** Whether a deployed instance still runs; undefined when the target cannot tell. */
  isRunning?(instance: InstanceOutput): Promise<boolean | undefined>;
  /** One line saying where the instance runs, e.g. "in netns exoform-x (pid 123)". */
  describeInstance?(instance: InstanceOutput): string;
  /**
   * Every instance of the stack this target can find, whatever the state says (local: instance
   * directories, namespaces and QEMU/dnsmasq processes of the project; clouds: resources tagged
   * with the stack). The CLI compares their ids with the state's to find orphans: instances of
   * an interrupted create, or of a state that was deleted. Must not need the stack's settings.
   */
  listInstances?(scope: InstanceScope): Promise<FoundInstance[]>;
  /**
   * The console log of an instance found by `listInstances` (by id): for instances without
   * outputs, such as those an `up --keep-failed` kept.
   */
  readFoundConsole?(scope: InstanceScope, id: string): Promise<ConsoleLog>;
  /** Removes the given instances (found by `listInstances`) completely; safe to repeat. */
  sweep?(scope: InstanceScope, instances: readonly FoundInstance[]): Promise<void>;
  /**
   * True for a target whose stacks hold no credentials (local QEMU): it may use the built-in
   * local-only passphrase of scripts/env.sh. Every other target's stack needs the user's own.
   */
  readonly localOnly?: boolean;
}
