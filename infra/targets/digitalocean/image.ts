/**
 * DigitalOceanImage: the image as a DigitalOcean Custom Image. The `.img.gz` goes to Spaces
 * (public-read, unguessable key), DO imports it from that URL, and once the Custom Image is
 * available the object is deleted (or made private). While an import fails, the object stays
 * public under its unguessable key for the next try; destroying the stack deletes it.
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { elapsedMs } from "./plan";
import { SpacesImageUpload, SpacesImportWindow } from "./resources";
import type { SpacesCredentials } from "./spaces";

/** The `.img.gz` artefact as image-builder describes it. */
export interface GzipArtefact {
  /** Absolute path. */
  readonly path: string;
  /** sha256 of the file (hex). */
  readonly sha256: string;
  /** Size in bytes. */
  readonly bytes: number;
}

/** What DigitalOceanImage needs: the image, where to upload it, and how long to wait. */
export interface DigitalOceanImageArgs {
  /** The image id (64 hex digits): names the Custom Image and the object. */
  readonly imageId: string;
  /** The raw disk, gzip-compressed (DO imports raw `.img` in gzip or bzip2, not xz). */
  readonly gz: GzipArtefact;
  /** Regions the Custom Image is made available in (the Droplets' regions). */
  readonly regions: readonly string[];
  /** Tags on the Custom Image. */
  readonly tags: readonly string[];
  /** The S3 API and the Space; see SpacesLocation. */
  readonly spaces: {
    readonly endpoint: string;
    readonly bucket: string;
    readonly signingRegion: string;
    readonly forcePathStyle: boolean;
    readonly keyPrefix: string;
    readonly keepUploadedImage: boolean;
    readonly maxAttempts: number;
  };
  /** The Spaces key pair, a Pulumi secret. */
  readonly credentials: pulumi.Input<SpacesCredentials>;
  /** Keeps objects of different stacks apart in a shared Space (the stack name). */
  readonly keyScope: string;
  /** Minutes to wait for the import (the Custom Image's create timeout). */
  readonly importTimeoutMinutes: number;
}

/** Component `exoform:digitalocean:Image`: upload → CustomImage → import window closed. */
export class DigitalOceanImage extends pulumi.ComponentResource {
  readonly upload: SpacesImageUpload;
  readonly customImage: digitalocean.CustomImage;
  readonly importWindow: SpacesImportWindow;
  /** DO's image id, as Droplets take it (`image`). */
  readonly doImageId: pulumi.Output<string>;
  /** The import's size in GB as DO bills it. */
  readonly sizeGigabytes: pulumi.Output<number>;
  /** Upload duration (ms). */
  readonly uploadMs: pulumi.Output<number>;
  /** Upload end → Custom Image available, as this machine saw it (ms). */
  readonly importMs: pulumi.Output<number>;

  constructor(name: string, args: DigitalOceanImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exoform:digitalocean:Image", name, {}, opts);
    const { spaces } = args;
    const location = {
      endpoint: spaces.endpoint,
      bucket: spaces.bucket,
      signingRegion: spaces.signingRegion,
      forcePathStyle: spaces.forcePathStyle,
      maxAttempts: spaces.maxAttempts,
    };
    const regions = [...args.regions].sort();
    this.upload = new SpacesImageUpload(
      `${name}-upload`,
      {
        ...location,
        credentials: args.credentials,
        keyPrefix: spaces.keyPrefix,
        keyScope: args.keyScope,
        imageId: args.imageId,
        file: args.gz.path,
        sha256: args.gz.sha256,
        bytes: args.gz.bytes,
        // A Custom Image losing a region is replaced, and the replacement imports from the URL
        // again: a region change therefore makes a new object (the old one may be gone).
        keySalt: `regions=${regions.join(",")}`,
      },
      { parent: this },
    );
    this.customImage = new digitalocean.CustomImage(
      `${name}-custom-image`,
      {
        name: `exoform-${args.imageId.slice(0, 12)}`,
        url: this.upload.url,
        regions,
        // DHCP on the public NIC works for "Unknown" only [DO custom image limits; kerla docs].
        distribution: "Unknown",
        description: `exoform image ${args.imageId}`,
        tags: [...args.tags],
      },
      { parent: this, customTimeouts: { create: `${args.importTimeoutMinutes}m` } },
    );
    this.importWindow = new SpacesImportWindow(
      `${name}-import-window`,
      {
        ...location,
        credentials: args.credentials,
        key: this.upload.key,
        keep: spaces.keepUploadedImage,
        customImageId: this.customImage.id,
      },
      { parent: this, dependsOn: [this.customImage] },
    );
    this.doImageId = this.customImage.id;
    this.sizeGigabytes = this.customImage.sizeGigabytes;
    this.uploadMs = this.upload.uploadMs;
    this.importMs = pulumi
      .all([this.upload.uploadedAtEpochMs, this.importWindow.closedAtEpochMs])
      .apply(([uploadedAt, closedAt]) => elapsedMs(uploadedAt, closedAt));
    this.registerOutputs({ doImageId: this.doImageId, sizeGigabytes: this.sizeGigabytes });
  }
}
