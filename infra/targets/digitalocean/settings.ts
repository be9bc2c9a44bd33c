/**
 * `exoform:digitalocean`: the DigitalOcean target's stack settings, one zod schema. Credentials
 * are not settings: they are the Pulumi secrets `digitalocean:token` (read by the
 * @pulumi/digitalocean provider), `digitalocean:spacesAccessId` and
 * `digitalocean:spacesSecretKey` (read by the upload; see credentials.ts).
 */
import { z } from "zod";

/** DO region slugs look like `nyc3`, `ams3`, `sgp1` (three letters and a digit). */
const REGION = z
  .string()
  .regex(/^[a-z]{3}[0-9]$/, "must be a DigitalOcean region slug such as nyc3, ams3 or sgp1");

/** Droplet and image tags: DO allows letters, digits, `:`, `-`, `_`, at most 255 characters. */
const TAG = z
  .string()
  .regex(/^[A-Za-z0-9:_-]{1,255}$/, "a tag may hold letters, digits, ':', '-' and '_' (1 to 255)");

/** Where the image is uploaded for the import (DigitalOcean Spaces or any S3-compatible API). */
export const SpacesSettingsSchema = z
  .object(
    {
      /**
       * The Space (bucket) the image is uploaded to. It must exist; exoform creates no Space.
       * S3 bucket naming: 3 to 63 lower-case letters, digits, `-` and `.`.
       */
      bucket: z
        .string({ error: "required: the name of an existing Space to upload the image to" })
        .regex(
          /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
          "must be a Space name: 3 to 63 lower-case letters, digits, '-' or '.'",
        ),
      /** The Space's region; default: the first of `regions`. */
      region: REGION.optional(),
      /**
       * Base URL of the S3 API; default `https://<spaces region>.digitaloceanspaces.com`. Set it
       * for an S3-compatible test server.
       */
      endpoint: z
        .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
        .refine((u) => {
          const url = new URL(u);
          return !url.username && !url.password && !url.search && !url.hash;
        }, "must be a plain base URL: no user info (keys are secrets, not settings), query or fragment")
        .optional(),
      /** `<endpoint>/<bucket>/<key>` URLs instead of `<bucket>.<endpoint host>/<key>`. */
      forcePathStyle: z.boolean().default(false),
      /** Region the S3 requests are signed for; Spaces takes `us-east-1` for every region. */
      signingRegion: z.string().min(1).default("us-east-1"),
      /** First segment(s) of the object key: `<keyPrefix>/<stack>/<image id>-<token>.img.gz`. */
      keyPrefix: z
        .string()
        .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "path segments of [A-Za-z0-9._-]")
        .default("exoform"),
      /**
       * Keep the uploaded object after the import (made private) instead of deleting it; it is
       * deleted with the stack. Spaces bills stored bytes.
       */
      keepUploadedImage: z.boolean().default(false),
      /** Attempts per S3 request (the SDK's standard retry strategy: 5xx, throttling). */
      maxAttempts: z.number().int().min(1).max(20).default(5),
    },
    {
      error: (issue) =>
        issue.input === undefined
          ? "required: the Space the image is uploaded to for the import, e.g. { bucket: my-space }"
          : undefined,
    },
  )
  .strict();
/** `exoform:digitalocean.spaces` after defaults. */
export type SpacesSettings = z.infer<typeof SpacesSettingsSchema>;

/** The cheapest Droplet size, USD 4/month [DO pricing; shared notes platform.md]. */
export const DEFAULT_SIZE = "s-1vcpu-512mb-10gb";
/** Custom image storage, USD per GB-month [DO custom images pricing; platform.md]. */
export const IMAGE_STORAGE_USD_PER_GB_MONTH = 0.06;

/** `exoform:digitalocean`: every field has a default except `spaces.bucket`. */
export const DigitalOceanSettingsSchema = z
  .object({
    /** Regions to run Droplets in, each with its own reserved IP. */
    regions: z
      .array(REGION)
      .min(1, "at least one region")
      .refine((r) => new Set(r).size === r.length, "each region once")
      .default(["nyc3"]),
    /** Droplet size slug (`doctl compute size list`). */
    size: z.string().min(1).default(DEFAULT_SIZE),
    /** Droplets per region; default: `exoform:instances`. */
    dropletsPerRegion: z.number().int().min(1).max(10).optional(),
    /** Where the image is uploaded for the import. */
    spaces: SpacesSettingsSchema,
    /** Extra tags on the Droplets and the Custom Image (exoform adds its own). */
    tags: z.array(TAG).default([]),
    /** Minutes to wait for the Custom Image import (the provider's create timeout). */
    importTimeoutMinutes: z.number().int().min(1).max(240).default(60),
    /** Custom image storage price in USD per GB-month, for the stack's monthly cost. */
    imageStorageUsdPerGbMonth: z.number().nonnegative().default(IMAGE_STORAGE_USD_PER_GB_MONTH),
  })
  .strict();
/** `exoform:digitalocean` after defaults. */
export type DigitalOceanSettings = z.infer<typeof DigitalOceanSettingsSchema>;

/** The Spaces endpoint the settings mean: `endpoint`, else `https://<region>.digitaloceanspaces.com`. */
export function spacesEndpoint(settings: DigitalOceanSettings): string {
  return (
    settings.spaces.endpoint ??
    `https://${settings.spaces.region ?? settings.regions[0]}.digitaloceanspaces.com`
  );
}

/** What the DigitalOcean target exports per instance in `extras`. */
export const DigitalOceanInstanceExtrasSchema = z.object({
  /** The Droplet's id (a number, as the API names it). */
  dropletId: z.number().int(),
  /** The Droplet's auto-suffixed name. */
  dropletName: z.string(),
  region: z.string(),
  size: z.string(),
  /** The Droplet's public IPv4 (the reserved IP of its region points here when it is the first). */
  ipv4Address: z.string(),
  /** USD per hour as DO prices the size. */
  priceHourly: z.number().nonnegative(),
  /** The region's reserved IP, on the instance it is assigned to. */
  reservedIp: z.string().optional(),
});
/** An instance's `extras`. */
export type DigitalOceanInstanceExtras = z.infer<typeof DigitalOceanInstanceExtrasSchema>;

/** What the DigitalOcean target exports in the stack's `extras`. */
export const DigitalOceanStackExtrasSchema = z.object({
  /** The Custom Image's DO id. */
  doImageId: z.string(),
  /** Its size as DO bills it (GB). */
  imageSizeGigabytes: z.number().nonnegative(),
  /** Its storage cost (USD per month). */
  imageStorageUsdPerMonth: z.number().nonnegative(),
  /** Region → reserved IPv4: the stable address of the region, on a healthy Droplet. */
  reservedIps: z.record(z.string(), z.string()),
  /** The Space the image was uploaded to. */
  spacesBucket: z.string(),
  spacesEndpoint: z.string(),
});
/** The stack's `extras`. */
export type DigitalOceanStackExtras = z.infer<typeof DigitalOceanStackExtrasSchema>;
