/**
 * The DigitalOcean deployment: the image as a Custom Image (Spaces upload → import → object
 * removed), an SSH key DO asks for (public half only), per region `dropletsPerRegion` Droplets,
 * each with its own Firewall and HealthCheck, and per region a reserved IP assigned to the
 * region's first Droplet once **every** Droplet of the stack is healthy.
 *
 * Blue/green by generation: everything that belongs to one image (upload, Custom Image) is
 * named after the image id (`image-<id12>`), and the Droplets, their firewalls and checks after
 * the image id and the size (`<region>-<i>-<gen12>`, plan.ts dropletGeneration), so a new
 * image or a new size **creates** a new generation next to the running one instead of
 * replacing (or resizing, which powers a Droplet off) it in place. Once every new check has passed, the reserved IP assignment
 * (one per region, a stable name) is replaced because its `dropletId` changed: the create moves
 * the IP to the new Droplet, and the old assignment's delete unassigns only an IP still pointing
 * at its own Droplet [TF-DO reservedip/resource_reserved_ip_assignment.go], so it leaves the
 * moved IP alone. The old generation is no longer declared, so the engine deletes it at the end
 * of the deployment, after the move, and only when the deployment succeeded.
 *
 * A failed new generation (an unhealthy Droplet) fails the deployment before the move: the IP
 * stays on the old Droplets, which keep running, and nothing of them is marked for deletion, so
 * a later `up` also removes them only after its own new Droplets are healthy. The failed
 * generation consists of plain creates, which `exoform up` rolls back (cli/commands/up); with
 * in-place replacements it could not (a replacement shares its URN with the resource it
 * replaces, which a targeted destroy would take along).
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import type { InstanceOutput, StackOutputsInput } from "../../outputs";
import type { DeployContext } from "../target";
import { requireApiToken, spacesCredentials } from "./credentials";
import { DigitalOceanImage } from "./image";
import { DigitalOceanInstance } from "./instance";
import { dropletGeneration, planInstances, resourceTags, stackMonthlyCostUsd } from "./plan";
import { SshPublicKey } from "./resources";
import {
  DigitalOceanInstanceExtras,
  DigitalOceanSettings,
  DigitalOceanStackExtras,
  spacesEndpoint,
} from "./settings";

/**
 * Declares the stack's DigitalOcean resources (see the file comment) and returns its outputs in
 * the shared contract. Throws a RunError naming the command to run when a credential is missing.
 */
export function deployDigitalOcean(ctx: DeployContext<DigitalOceanSettings>): StackOutputsInput {
  const { stack, config, settings, image } = ctx;
  requireApiToken(stack);
  const credentials = spacesCredentials(stack);
  const tags = resourceTags(stack, image.imageId, settings.tags);
  const endpoint = spacesEndpoint(settings);

  // One generation per image id (see the file comment).
  const generation = image.imageId.slice(0, 12);
  const customImage = new DigitalOceanImage(`image-${generation}`, {
    imageId: image.imageId,
    gz: image.gz,
    regions: settings.regions,
    tags,
    spaces: { ...settings.spaces, endpoint },
    credentials,
    keyScope: stack,
    importTimeoutMinutes: settings.importTimeoutMinutes,
  });

  // Made once and kept: a new key would replace every Droplet (ssh_keys forces a new one).
  const publicKey = new SshPublicKey("ssh-public-key", { comment: `exoform-${stack}` });
  const sshKey = new digitalocean.SshKey("ssh-key", { publicKey: publicKey.publicKey });

  const planned = planInstances(stack, settings, config.instances);
  const droplets = dropletGeneration(image.imageId, settings.size);
  const instances = planned.map(
    (p) =>
      new DigitalOceanInstance(`${p.region}-${p.index}-${droplets}`, {
        instance: p.instance,
        region: p.region,
        size: settings.size,
        doImageId: customImage.doImageId,
        imageId: image.imageId,
        sshKeyFingerprint: sshKey.fingerprint,
        tags,
        httpPort: config.image.http.port,
        health: config.health,
      }),
  );
  const healthChecks = instances.map((i) => i.health);

  const reservedIps = settings.regions.map((region) => {
    const first = instances[planned.findIndex((p) => p.region === region)];
    const ip = new digitalocean.ReservedIp(`reserved-ip-${region}`, { region });
    const assignment = new digitalocean.ReservedIpAssignment(
      `reserved-ip-${region}-assignment`,
      { ipAddress: ip.ipAddress, dropletId: first.droplet.id.apply(Number) },
      { dependsOn: healthChecks },
    );
    return { region, first, ip, assignment };
  });
  const reservedIpOf = (instance: DigitalOceanInstance) =>
    reservedIps.find((r) => r.first === instance)?.assignment.ipAddress;

  const instanceOutputs = instances.map((instance, i) =>
    instanceOutput(
      instance,
      planned[i].instance,
      settings.size,
      customImage,
      reservedIpOf(instance),
    ),
  );

  const imageStorageUsdPerMonth = customImage.sizeGigabytes.apply(
    (gb) => Math.round(gb * settings.imageStorageUsdPerGbMonth * 100) / 100,
  );
  const monthlyCostUsd = pulumi
    .all([pulumi.all(instances.map((i) => i.droplet.priceMonthly)), customImage.sizeGigabytes])
    .apply(([prices, gb]) => stackMonthlyCostUsd(prices, gb, settings.imageStorageUsdPerGbMonth));
  const extras: pulumi.Output<DigitalOceanStackExtras> = pulumi
    .all([
      customImage.doImageId,
      customImage.sizeGigabytes,
      imageStorageUsdPerMonth,
      pulumi.all(reservedIps.map((r) => r.assignment.ipAddress)),
    ])
    .apply(([doImageId, imageSizeGigabytes, storage, ips]) => ({
      doImageId,
      imageSizeGigabytes,
      imageStorageUsdPerMonth: storage,
      reservedIps: Object.fromEntries(reservedIps.map((r, i) => [r.region, ips[i]])),
      spacesBucket: settings.spaces.bucket,
      spacesEndpoint: endpoint,
    }));

  return {
    target: "digitalocean",
    imageId: image.imageId,
    instances: pulumi.all(instanceOutputs) as unknown as InstanceOutput[],
    monthlyCostUsd: monthlyCostUsd as unknown as number,
    extras: extras as unknown as Record<string, unknown>,
  };
}

/** One instance in the outputs contract, with DO details in `extras`. */
function instanceOutput(
  instance: DigitalOceanInstance,
  name: string,
  size: string,
  image: DigitalOceanImage,
  reservedIp: pulumi.Output<string> | undefined,
): pulumi.Output<InstanceOutput> {
  const { droplet, health } = instance;
  const dropletFacts = pulumi.all([
    droplet.id,
    droplet.name,
    droplet.region,
    droplet.ipv4Address,
    droplet.priceMonthly,
    droplet.priceHourly,
    reservedIp,
  ]);
  const timings = pulumi.all([instance.createMs, image.uploadMs, image.importMs]);
  return pulumi
    .all([dropletFacts, timings, instance.url, health.report, health.spec])
    .apply(
      ([
        [dropletId, dropletName, region, ipv4Address, priceMonthly, priceHourly, ip],
        [createMs, uploadMs, importMs],
        url,
        report,
        spec,
      ]): InstanceOutput => {
        const extras: DigitalOceanInstanceExtras = {
          dropletId: Number(dropletId),
          dropletName,
          region,
          size,
          ipv4Address,
          priceHourly,
          ...(ip && { reservedIp: ip }),
        };
        return {
          name,
          address: ipv4Address,
          url,
          health: report,
          healthSpec: spec,
          phases: {
            upload: uploadMs,
            import: importMs,
            create: createMs,
            ...(report.icmp.firstReplyMs !== undefined && { firstPing: report.icmp.firstReplyMs }),
            ...(report.http.firstOkMs !== undefined && { firstHttp200: report.http.firstOkMs }),
          },
          monthlyCostUsd: priceMonthly,
          extras,
        };
      },
    );
}
