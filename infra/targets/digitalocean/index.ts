/**
 * The DigitalOcean target: the image imported as a Custom Image through Spaces, Droplets per
 * region behind their own firewalls, each gated by a health check probed from this machine, and
 * a reserved IP per region moved blue/green to healthy Droplets. See deploy.ts for the resource
 * graph and docs/targets/digitalocean.md for the user's side. Light on purpose (the CLI loads
 * it): the provider code is imported inside `deploy`.
 */
import type { InstanceOutput } from "../../outputs";
import { instanceExtras } from "../extras";
import type { Target } from "../target";
import {
  DigitalOceanInstanceExtrasSchema,
  DigitalOceanSettings,
  DigitalOceanSettingsSchema,
} from "./settings";

/** The DigitalOcean extras of an instance (throws naming it when they are malformed). */
function extrasOf(instance: InstanceOutput) {
  return instanceExtras(DigitalOceanInstanceExtrasSchema, instance, "DigitalOcean");
}

/** The registry entry (`exoform:target: digitalocean`, settings `exoform:digitalocean`). */
export const digitalOceanTarget: Target<DigitalOceanSettings> = {
  name: "digitalocean",
  settingsSchema: DigitalOceanSettingsSchema,
  async deploy(ctx) {
    const { deployDigitalOcean } = await import("./deploy");
    return deployDigitalOcean(ctx);
  },
  resourcePhases: {
    "pulumi-nodejs:dynamic/digitalocean:SpacesImageUpload": {
      phase: "upload",
      verbs: {
        create: ["uploading the image to Spaces for", "uploaded"],
        "create-replacement": ["uploading the new image to Spaces for", "uploaded"],
        delete: ["deleting the uploaded image of", "deleted"],
        "delete-replaced": ["deleting the previous upload of", "deleted"],
      },
      detail: (outs) => (outs.reused ? " (already there: 0 bytes sent)" : ""),
    },
    "digitalocean:index/customImage:CustomImage": {
      phase: "import",
      verbs: {
        create: ["importing the Custom Image", "available"],
        "create-replacement": ["importing the new Custom Image", "available"],
        delete: ["deleting the Custom Image", "deleted"],
        "delete-replaced": ["deleting the previous Custom Image", "deleted"],
      },
      detail: (outs) => (outs.imageId ? ` (image ${String(outs.imageId)})` : ""),
    },
    "pulumi-nodejs:dynamic/digitalocean:SpacesImportWindow": {
      phase: "import",
      verbs: { create: ["removing the public upload of", "removed"] },
    },
    "digitalocean:index/droplet:Droplet": {
      phase: "instance",
      verbs: {
        create: ["creating the Droplet", "active"],
        "create-replacement": ["creating the replacement Droplet", "active"],
        delete: ["deleting the Droplet", "deleted"],
        "delete-replaced": ["deleting the replaced Droplet", "deleted"],
      },
      detail: (outs) =>
        outs.ipv4Address ? ` (${String(outs.name)}, ${String(outs.ipv4Address)})` : "",
    },
    "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": {
      phase: "network",
      verbs: {
        create: ["assigning the reserved IP", "assigned"],
        "create-replacement": ["moving the reserved IP to the new Droplet", "moved"],
        "delete-replaced": ["releasing the old assignment", "released"],
      },
    },
  },
  describeInstance(instance) {
    const { dropletId, region, reservedIp } = extrasOf(instance);
    return `Droplet ${dropletId} in ${region}${reservedIp ? ` (reserved IP ${reservedIp})` : ""}`;
  },
};
