#!/usr/bin/env node
/* global process, console */
/**
 * Regenerates pve-api-subset.json: the part of Proxmox VE's own machine-readable API schema
 * (pve-docs `api-viewer/apidata.js`, written by pve-docs `scripts/extractapi.pl` from the
 * JSONSchema of every API method) that covers the endpoints exoform calls. The emulator
 * validates every request it receives against it. Data only: descriptions are dropped, every
 * other key of each parameter (type, enum, format, pattern, optional, minimum, …) is kept.
 *
 * CI cannot reach GitHub, so the extract is committed. To regenerate:
 *   git clone https://github.com/proxmox/pve-docs   (or any checkout / bare mirror of it)
 *   node test/emulators/proxmox/schema/extract-apidata.mjs <pve-docs git dir> [<rev>]
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Every path and method exoform (infra/targets/proxmox) and the emulator's tests call. */
const ENDPOINTS = {
  "/version": ["GET"],
  "/nodes": ["GET"],
  "/cluster/nextid": ["GET"],
  "/nodes/{node}/storage": ["GET"],
  "/nodes/{node}/storage/{storage}/status": ["GET"],
  "/nodes/{node}/storage/{storage}/content": ["GET"],
  "/nodes/{node}/storage/{storage}/content/{volume}": ["GET", "DELETE"],
  "/nodes/{node}/storage/{storage}/upload": ["POST"],
  "/nodes/{node}/qemu": ["GET", "POST"],
  "/nodes/{node}/qemu/{vmid}": ["DELETE"],
  "/nodes/{node}/qemu/{vmid}/config": ["GET"],
  "/nodes/{node}/qemu/{vmid}/status/current": ["GET"],
  "/nodes/{node}/qemu/{vmid}/status/start": ["POST"],
  "/nodes/{node}/qemu/{vmid}/status/stop": ["POST"],
  "/nodes/{node}/qemu/{vmid}/termproxy": ["POST"],
  "/nodes/{node}/qemu/{vmid}/vncwebsocket": ["GET"],
  "/nodes/{node}/tasks/{upid}/status": ["GET"],
  "/nodes/{node}/tasks/{upid}/log": ["GET"],
};

const DROP = new Set(["description", "verbose_description", "format_description", "typetext"]);

/** A parameter schema without its prose (recursively: property-string formats nest). */
function trim(value) {
  if (Array.isArray(value)) return value.map(trim);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !DROP.has(k))
      .map(([k, v]) => [k, trim(v)]),
  );
}

const [gitDir, rev = "HEAD"] = process.argv.slice(2);
if (!gitDir) {
  console.error("usage: extract-apidata.mjs <pve-docs git dir> [<rev>]");
  process.exit(2);
}
const git = (...args) =>
  execFileSync("git", ["-C", gitDir, ...args], { maxBuffer: 1 << 26 }).toString();
const commit = git("rev-parse", `${rev}^{commit}`).trim();
const date = git("show", "-s", "--format=%cI", commit).trim();
const text = git("show", `${commit}:api-viewer/apidata.js`);
// The file is `const apiSchema = [ … ]` then a line `;`.
const json = text.slice(text.indexOf("["), text.lastIndexOf("]") + 1);
const tree = JSON.parse(json);

const byPath = new Map();
(function walk(nodes) {
  for (const n of nodes) {
    byPath.set(n.path, n.info ?? {});
    if (n.children) walk(n.children);
  }
})(tree);

const endpoints = {};
for (const [p, methods] of Object.entries(ENDPOINTS)) {
  const info = byPath.get(p);
  if (!info) throw new Error(`${p} is not in apidata.js at ${commit}`);
  endpoints[p] = {};
  for (const m of methods) {
    const method = info[m];
    if (!method) throw new Error(`${m} ${p} is not in apidata.js at ${commit}`);
    endpoints[p][m] = {
      name: method.name,
      allowtoken: method.allowtoken ?? 0,
      parameters: trim(method.parameters ?? { properties: {} }),
    };
  }
}

const out = {
  source: {
    repository: "https://github.com/proxmox/pve-docs",
    path: "api-viewer/apidata.js",
    commit,
    date,
    regenerate: "node test/emulators/proxmox/schema/extract-apidata.mjs <pve-docs git dir> [<rev>]",
  },
  endpoints,
};
const target = path.join(path.dirname(fileURLToPath(import.meta.url)), "pve-api-subset.json");
fs.writeFileSync(target, JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${target} (${Object.keys(endpoints).length} paths from pve-docs ${commit})`);
