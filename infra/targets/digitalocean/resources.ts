/**
 * The DigitalOcean target's own dynamic resources (type tokens
 * `pulumi-nodejs:dynamic/digitalocean:<Type>`):
 *
 * - SpacesImageUpload: the image object in Spaces, public-read until the import is done.
 * - SpacesImportWindow: created once the Custom Image is available; deletes the object (or
 *   makes it private).
 * - SshPublicKey: an ed25519 public key made once and kept in the state (the private half is
 *   dropped at creation).
 * - Timestamp: the time the engine created it, to time phases from this machine's clock.
 *
 * The providers are serialized into the state: they capture nothing but the implementation's
 * path below dist/ and load it from the project at run time (provider-impl.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import type {
  ImageUploadInputs,
  ImageUploadState,
  ImportWindowInputs,
  ImportWindowState,
} from "./provider-impl";
import { requireProjectModule } from "../../project-modules";

type Impl = typeof import("./provider-impl");
const IMPL = "infra/targets/digitalocean/provider-impl.js";

/** SpacesImageUpload's provider: a stub that loads provider-impl.js at run time. */
export const spacesImageUploadProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ImageUploadInputs) {
    return requireProjectModule<Impl>(IMPL).createImageUpload(inputs);
  },
  async diff(_id: string, olds: ImageUploadState, news: ImageUploadInputs) {
    return requireProjectModule<Impl>(IMPL).diffImageUpload(olds, news);
  },
  async update(_id: string, olds: ImageUploadState, news: ImageUploadInputs) {
    return { outs: requireProjectModule<Impl>(IMPL).updateImageUpload(olds, news) };
  },
  async delete(_id: string, props: ImageUploadState) {
    await requireProjectModule<Impl>(IMPL).deleteImageUpload(props);
  },
};

/** Inputs of SpacesImageUpload (see UploadImageInputs in spaces.ts for each field). */
export type SpacesImageUploadArgs = {
  readonly [K in keyof ImageUploadInputs]: pulumi.Input<ImageUploadInputs[K]>;
};

/** Type token `pulumi-nodejs:dynamic/digitalocean:SpacesImageUpload`. */
export class SpacesImageUpload extends pulumi.dynamic.Resource {
  /** The object key, `<prefix>/<stack>/<image id>-<token>.img.gz`. */
  declare readonly key: pulumi.Output<string>;
  /** The anonymous URL the Custom Image is imported from. */
  declare readonly url: pulumi.Output<string>;
  /** Body bytes sent (0 when the same object was already there). */
  declare readonly bytesSent: pulumi.Output<number>;
  declare readonly reused: pulumi.Output<boolean>;
  /** How long the upload took (ms). */
  declare readonly uploadMs: pulumi.Output<number>;
  /** When it finished (epoch ms, this machine's clock). */
  declare readonly uploadedAtEpochMs: pulumi.Output<number>;

  /** `args.credentials` must be a secret: it is kept (encrypted) in the state for the delete. */
  constructor(name: string, args: SpacesImageUploadArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      spacesImageUploadProvider,
      name,
      {
        ...args,
        credentials: pulumi.secret(args.credentials),
        key: undefined,
        url: undefined,
        bytesSent: undefined,
        reused: undefined,
        uploadMs: undefined,
        uploadedAtEpochMs: undefined,
      },
      opts,
      "digitalocean",
      "SpacesImageUpload",
    );
  }
}

/** SpacesImportWindow's provider: a stub that loads provider-impl.js at run time. */
export const spacesImportWindowProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ImportWindowInputs) {
    return requireProjectModule<Impl>(IMPL).closeImportWindowOf(inputs);
  },
  async diff(_id: string, olds: ImportWindowState, news: ImportWindowInputs) {
    return requireProjectModule<Impl>(IMPL).diffImportWindow(olds, news);
  },
  async update(_id: string, olds: ImportWindowState, news: ImportWindowInputs) {
    return { outs: await requireProjectModule<Impl>(IMPL).updateImportWindow(olds, news) };
  },
};

/** Inputs of SpacesImportWindow (see ImportWindowInputs). */
export type SpacesImportWindowArgs = {
  readonly [K in keyof ImportWindowInputs]: pulumi.Input<ImportWindowInputs[K]>;
};

/** Type token `pulumi-nodejs:dynamic/digitalocean:SpacesImportWindow`; create it after the Custom Image. */
export class SpacesImportWindow extends pulumi.dynamic.Resource {
  /** `deleted` or `made-private`. */
  declare readonly action: pulumi.Output<string>;
  /** When the window closed (epoch ms, this machine's clock). */
  declare readonly closedAtEpochMs: pulumi.Output<number>;

  constructor(name: string, args: SpacesImportWindowArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      spacesImportWindowProvider,
      name,
      {
        ...args,
        credentials: pulumi.secret(args.credentials),
        action: undefined,
        closedAtEpochMs: undefined,
      },
      opts,
      "digitalocean",
      "SpacesImportWindow",
    );
  }
}

/** SshPublicKey's provider: makes the key once; never changes it. */
export const sshPublicKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { comment: string }) {
    const publicKey = requireProjectModule<Impl>(IMPL).generateSshPublicKey(inputs.comment);
    return { id: inputs.comment, outs: { comment: inputs.comment, publicKey } };
  },
  // The key never changes once made: a new one would replace every Droplet (ssh_keys forces
  // a new Droplet).
  async diff() {
    return { changes: false };
  },
};

/** Type token `pulumi-nodejs:dynamic/digitalocean:SshPublicKey`. */
export class SshPublicKey extends pulumi.dynamic.Resource {
  /** `ssh-ed25519 AAAA… <comment>`. */
  declare readonly publicKey: pulumi.Output<string>;

  /** `comment`: the key's comment, e.g. `exoform-<stack>`. */
  constructor(name: string, args: { comment: string }, opts?: pulumi.CustomResourceOptions) {
    super(
      sshPublicKeyProvider,
      name,
      { comment: args.comment, publicKey: undefined },
      opts,
      "digitalocean",
      "SshPublicKey",
    );
  }
}

/** Timestamp's provider: this machine's clock at create; a new subject replaces it. */
export const timestampProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { subject: string }) {
    return { id: inputs.subject, outs: { subject: inputs.subject, epochMs: Date.now() } };
  },
  async diff(_id: string, olds: { subject: string }, news: { subject: string }) {
    const changed = olds.subject !== news.subject;
    return { changes: changed, replaces: changed ? ["subject"] : [] };
  },
};

/** Type token `pulumi-nodejs:dynamic/digitalocean:Timestamp`. */
export class Timestamp extends pulumi.dynamic.Resource {
  /** When the engine created this resource (epoch ms, this machine's clock). */
  declare readonly epochMs: pulumi.Output<number>;

  /** `subject`: what is being timed (e.g. a Droplet id); a new subject takes a new time. */
  constructor(
    name: string,
    args: { subject: pulumi.Input<string> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      timestampProvider,
      name,
      { subject: args.subject, epochMs: undefined },
      opts,
      "digitalocean",
      "Timestamp",
    );
  }
}
