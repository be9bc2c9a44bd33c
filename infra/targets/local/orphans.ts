/**
 * Finding and removing every local instance of a stack, whatever Pulumi's state says: after a
 * `kill -9` in the middle of a create, or after `.exoform/` was deleted by hand, QEMU, dnsmasq and
 * the namespace of an instance run on without any state naming them. An instance belongs to
 * this project's stack when its directory `<project>/.exoform/stacks/<stack>/instances/<id>/`
 * exists, or when a QEMU or dnsmasq process names a file in that directory on its command line
 * (QEMU's `-pidfile`, dnsmasq's `--pid-file=`); its namespace is `exoform-<id>`. Namespaces of
 * the same name pattern that other projects made are never touched: only ids found one of the
 * two ways above are swept.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { FoundInstance, InstanceScope } from "../target";
import { removeNetns } from "./netns";

/** `<project>/.exoform/stacks/<stack>/instances`. */
function instancesDir(scope: InstanceScope): string {
  return path.join(scope.projectDir, ".exoform", "stacks", scope.stack, "instances");
}

/** The instance ids of `stack`: `<stack>-<n>-<8 hex>`. */
function idPattern(stack: string): RegExp {
  return new RegExp(`^${stack.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")}-\\d+-[0-9a-f]{8}$`);
}

/** Live processes (not zombies) with their command line split into arguments. */
function processes(): { pid: number; argv: string[] }[] {
  const out: { pid: number; argv: string[] }[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (/^\d+ \(.*\) Z/.test(stat)) continue;
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      out.push({ pid: Number(entry), argv });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

interface LocalFind {
  ids: Set<string>;
  /** QEMU and dnsmasq pids per instance id. */
  pids: Map<string, number[]>;
}

function find(scope: InstanceScope): LocalFind {
  const dir = instancesDir(scope);
  const pattern = idPattern(scope.stack);
  const ids = new Set<string>();
  const pids = new Map<string, number[]>();
  if (fs.existsSync(dir)) {
    for (const name of fs.readdirSync(dir)) if (pattern.test(name)) ids.add(name);
  }
  const prefix = dir + path.sep;
  for (const { pid, argv } of processes()) {
    const program = path.basename(argv[0] ?? "");
    const isOurs = program.startsWith("qemu-system") || program === "dnsmasq";
    if (!isOurs) continue;
    for (const arg of argv) {
      const file = arg.startsWith("--pid-file=") ? arg.slice("--pid-file=".length) : arg;
      if (!file.startsWith(prefix)) continue;
      const id = file.slice(prefix.length).split(path.sep)[0];
      if (!pattern.test(id)) continue;
      ids.add(id);
      pids.set(id, [...(pids.get(id) ?? []), pid]);
      break;
    }
  }
  return { ids, pids };
}

function netnsExists(name: string): boolean {
  return fs.existsSync(path.join("/run/netns", name));
}

/** Every instance of the stack in this project: directories, QEMU and dnsmasq processes. */
export async function listLocalInstances(scope: InstanceScope): Promise<FoundInstance[]> {
  const { ids, pids } = find(scope);
  return [...ids].sort().map((id) => {
    const parts = [
      ...(pids.get(id) ?? []).map((p) => `pid ${p}`),
      ...(netnsExists(`exoform-${id}`) ? [`netns exoform-${id}`] : []),
    ];
    return { id, description: parts.length ? `${id} (${parts.join(", ")})` : `${id} (files only)` };
  });
}

/** Kills the instances' QEMU and dnsmasq, deletes their namespaces and directories. */
export async function sweepLocalInstances(
  scope: InstanceScope,
  instances: readonly FoundInstance[],
): Promise<void> {
  const { pids } = find(scope);
  for (const { id } of instances) {
    if (!idPattern(scope.stack).test(id)) continue;
    for (const pid of pids.get(id) ?? []) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const dir = path.join(instancesDir(scope), id);
    await removeNetns({ name: `exoform-${id}`, dir });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
