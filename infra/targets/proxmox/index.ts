/**
 * The Proxmox VE target (`exoform:target: proxmox`, settings `exoform:proxmox`): the image
 * uploaded to a node's storage and imported into one VM per instance, over the API with a token
 * (no SSH). docs/targets/proxmox.md has the settings, permissions and design. Light on purpose
 * (the CLI loads it): the provider code is imported inside each method.
 */
import type { InstanceOutput } from "../../outputs";
import { instanceExtras } from "../extras";
import type { Target } from "../target";
import { ProxmoxInstanceExtrasSchema, ProxmoxSettings, ProxmoxSettingsSchema } from "./settings";

/**
 * Where `exoform logs` and `exoform check` find the token secret: the CLI hands a target only the
 * deployed outputs, and outputs never carry the secret.
 */
export const TOKEN_SECRET_ENV = "EXOFORM_PROXMOX_TOKEN_SECRET";

/** How long `readConsole` listens: the console shows output from the moment of attaching. */
const CONSOLE_LISTEN_MS = 3000;

/** The Proxmox extras of an instance (throws naming it when they are malformed). */
function extrasOf(instance: InstanceOutput) {
  return instanceExtras(ProxmoxInstanceExtrasSchema, instance, "Proxmox");
}

/** An API connection for a deployed instance, with the token secret from the environment. */
async function connectionFor(instance: InstanceOutput) {
  const extras = extrasOf(instance);
  const tokenSecret = process.env[TOKEN_SECRET_ENV];
  if (!tokenSecret)
    throw new Error(
      `${instance.name}: reading a Proxmox VM needs the API token's secret: set ${TOKEN_SECRET_ENV} (the value of exoform:proxmox.tokenSecret)`,
    );
  const { tlsFrom } = await import("./settings");
  const tls = tlsFrom(
    extras.tls,
    "exoform:proxmox.tls",
    process.env.EXOFORM_PROJECT_DIR ?? process.cwd(),
  );
  return {
    extras,
    connection: { endpoint: extras.endpoint, tokenId: extras.tokenId, tokenSecret, tls },
  };
}

export const proxmoxTarget: Target<ProxmoxSettings> = {
  name: "proxmox",
  settingsSchema: ProxmoxSettingsSchema,
  async deploy(ctx) {
    const { deployProxmox } = await import("./deploy");
    return deployProxmox(ctx);
  },
  resourcePhases: {
    "pulumi-nodejs:dynamic/proxmox:PveImage": {
      phase: "image",
      verbs: {
        create: ["uploading and importing the image for", "imported"],
        delete: ["deleting the imported image of", "deleted"],
        "delete-replaced": ["deleting the previous image of", "deleted"],
      },
      detail: (outs) => (outs.uploaded === false ? " (already on the storage)" : ""),
    },
    "pulumi-nodejs:dynamic/proxmox:PveVm": {
      phase: "instance",
      verbs: {
        create: ["creating the VM for", "running"],
        "create-replacement": ["creating the replacement VM for", "replacement running"],
        delete: ["stopping and destroying the VM of", "destroyed"],
        "delete-replaced": ["stopping and destroying the replaced VM of", "replaced one destroyed"],
      },
      detail: (outs) =>
        ` (VMID ${String(outs.vmid)} on ${String(outs.node)}, ${String(outs.address)})`,
    },
  },
  async readConsole(instance) {
    const { extras, connection } = await connectionFor(instance);
    const [{ withSession }, { readConsoleFor }] = await Promise.all([
      import("./client"),
      import("./console"),
    ]);
    const source = `${extras.endpoint} VM ${extras.vmid} serial0 (termproxy; output from now on)`;
    const text = await withSession(connection, (session) =>
      readConsoleFor(session, { node: extras.node, vmid: extras.vmid }, CONSOLE_LISTEN_MS),
    );
    return { source, text: text.trim() };
  },
  async isRunning(instance) {
    // Without the secret the target cannot tell (status should not fail for that).
    if (!process.env[TOKEN_SECRET_ENV]) return undefined;
    const { extras, connection } = await connectionFor(instance);
    const [{ withSession }, { observeVm }] = await Promise.all([
      import("./client"),
      import("./vm"),
    ]);
    const seen = await withSession(connection, (session) =>
      observeVm(session, { node: extras.node, vmid: extras.vmid, name: extras.vmName }),
    );
    return seen?.running ?? false;
  },
  describeInstance(instance) {
    const { vmid, node, endpoint } = extrasOf(instance);
    return `VM ${vmid} on ${node} (${endpoint})`;
  },
};
