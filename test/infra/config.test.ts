/**
 * The stack configuration schema, Pulumi's flat config decoding, and the pure helpers of the
 * local target (addresses, MACs, replacement decisions) and of the CLI (engine events).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { exoformConfigFromPulumi, parseStackConfig, StackConfigError } from "../../infra/config";
import {
  linkAddresses,
  macFor,
  QemuVmState,
  replacementReasons,
} from "../../infra/targets/local/instance";
import { icmpSkipReason } from "../../infra/targets/local/deploy";
import { namesPidFile } from "../../infra/targets/local/pidfile";
import { decodeProgramEvents } from "../../infra/program-events";
import {
  newEngineEventState,
  onlyRemovalsFailed,
  shortType,
  translateEngineEvent,
} from "../../cli/engine-events";
import { isCi } from "../helpers/privilege";
import { repoRoot } from "../helpers/pulumi";

const FILE = "stacks/Pulumi.t.yaml";

function problems(config: Record<string, unknown>): string[] {
  try {
    parseStackConfig(config, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(StackConfigError);
    expect((e as Error).message.startsWith(`${FILE}: invalid stack configuration:`)).toBe(true);
    return [...(e as StackConfigError).problems];
  }
  throw new Error("expected a StackConfigError");
}

describe("stack configuration", () => {
  test("the committed local stack validates as it is", () => {
    const yaml = fs.readFileSync(path.join(repoRoot, "stacks", "Pulumi.local.yaml"), "utf8");
    expect(yaml).toMatch(/^encryptionsalt: v1:/m);
    // Pulumi hands the program text values, objects as JSON: the shape `pulumi config` shows.
    const flat = {
      "exoform:target": "local",
      "exoform:instances": "1",
      "exoform:image": JSON.stringify({
        hostname: "exoform-local",
        network: { mode: "dhcp" },
        http: { port: 80, body: "Hello from exoform!\n" },
      }),
      "exoform:local": JSON.stringify({ accel: "tcg", network: "auto" }),
      "exoform:health": JSON.stringify({ deadlineSeconds: 60 }),
      "digitalocean:token": "not ours, ignored",
    };
    const config = parseStackConfig(exoformConfigFromPulumi(flat), FILE);
    expect(config).toMatchObject({
      target: "local",
      instances: 1,
      image: { hostname: "exoform-local", http: { port: 80 } },
      health: { deadlineSeconds: 60, pingCount: 5, maxPacketLossPercent: 0 },
      settings: { accel: "tcg", network: "auto" },
    });
    expect((config.settings as { memoryMb?: number }).memoryMb).toBeUndefined();
  });

  test("only the target is required; the rest has defaults", () => {
    const config = parseStackConfig({ target: "local" }, FILE);
    expect(config.instances).toBe(1);
    expect(config.image.network).toEqual({ mode: "dhcp" });
    expect(config.health.deadlineSeconds).toBe(60);
  });

  test("errors name every field with its exoform: key", () => {
    expect(
      problems({
        instances: 9,
        image: { http: { port: 0 }, network: { mode: "static", address: "10.0.0.5" } },
        health: { maxRttMs: -1, deadline: 3 },
        colour: "blue",
      }),
    ).toEqual([
      expect.stringMatching(/^exoform:target: required setting is missing$/),
      expect.stringMatching(
        /^exoform:image\.network\.address: must be an IPv4 address with a prefix length/,
      ),
      expect.stringMatching(/^exoform:image\.http\.port: Too small/),
      expect.stringMatching(/^exoform:instances: Too big/),
      expect.stringMatching(/^exoform:health\.maxRttMs: Too small/),
      "exoform:health.deadline: unknown setting",
      "exoform:colour: unknown setting",
    ]);
    expect(problems({ target: "local", local: { accel: "hvf", cpus: 2 } })).toEqual([
      expect.stringMatching(/^exoform:local\.accel: Invalid option/),
      "exoform:local.cpus: unknown setting",
    ]);
  });

  test("the target's settings get the target's defaults", () => {
    expect(parseStackConfig({ target: "local" }, FILE).settings).toEqual({
      accel: "tcg",
      network: "auto",
    });
  });

  test("settings of another target are an error naming their key", () => {
    expect(problems({ target: "proxmox", local: { accel: "tcg" } })).toEqual(
      expect.arrayContaining([
        'exoform:local: settings of the local target, but exoform:target is "proxmox": remove the key or change the target',
      ]),
    );
    expect(problems({ target: "local", proxmox: {} })).toEqual([
      expect.stringMatching(
        /^exoform:proxmox: settings of the proxmox target, but exoform:target is "local"/,
      ),
    ]);
  });

  test("an unknown target names the targets there are", () => {
    expect(problems({ target: "aws" })).toEqual([
      expect.stringMatching(/^exoform:target: "aws" is not a target \(targets: local/),
    ]);
  });
});

describe("local target helpers", () => {
  test("link addresses: DHCP lease, static with and without gateway", () => {
    expect(linkAddresses({ mode: "dhcp" })).toEqual({
      guest: "10.0.2.15",
      hostCidr: "10.0.2.1/24",
    });
    expect(
      linkAddresses({ mode: "static", address: "192.168.7.20/24", gateway: "192.168.7.254" }),
    ).toEqual({
      guest: "192.168.7.20",
      hostCidr: "192.168.7.254/24",
    });
    expect(linkAddresses({ mode: "static", address: "172.16.0.9/16" })).toEqual({
      guest: "172.16.0.9",
      hostCidr: "172.16.0.1/16",
    });
    expect(linkAddresses({ mode: "static", address: "10.9.0.1/30" })).toEqual({
      guest: "10.9.0.1",
      hostCidr: "10.9.0.2/30",
    });
  });

  test("the ICMP skip reason says why user-mode networking was chosen", () => {
    expect(icmpSkipReason("ICMP cannot reach the guest", "no network namespace: needs root")).toBe(
      "ICMP cannot reach the guest (user-mode networking was chosen because no network namespace: needs root)",
    );
    expect(icmpSkipReason(undefined)).toBe("no address to ping");
  });

  test("a daemon still owns its pidfile after the project moved", () => {
    const now = "/new/p/.exoform/stacks/s/instances/s-0-1a2b3c4d/qemu.pid";
    const then = "/old/p/.exoform/stacks/s/instances/s-0-1a2b3c4d/qemu.pid";
    expect(namesPidFile(then, now, now)).toBe(true);
    expect(namesPidFile(`--pid-file=${then}`, `--pid-file=${now}`, now)).toBe(true);
    // Another instance's pidfile, or a bare argument, is not ours.
    expect(namesPidFile(then.replace("1a2b3c4d", "ffffffff"), now, now)).toBe(false);
    expect(namesPidFile(then, `--pid-file=${now}`, now)).toBe(false);
  });

  test("MACs are stable, distinct and in QEMU's range", () => {
    expect(macFor("local-0-1a2b3c4d")).toBe(macFor("local-0-1a2b3c4d"));
    expect(macFor("local-0-1a2b3c4d")).not.toBe(macFor("local-0-1a2b3c4e"));
    expect(macFor("x")).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });

  test("a VM is replaced when an input changes or its QEMU is gone", () => {
    const inputs = {
      instance: "t-0",
      stateDir: "/nonexistent",
      imagePath: "/nonexistent/a.raw",
      imageId: "a".repeat(64),
      accel: "tcg" as const,
      network: "user" as const,
      guestNetwork: { mode: "dhcp" as const },
      httpPort: 80,
    };
    const state = { ...inputs, pidFile: "/nonexistent/qemu.pid", running: true } as QemuVmState;
    // No QEMU behind /nonexistent: "running" always joins the reasons here.
    expect(replacementReasons(state, inputs)).toEqual(["running"]);
    expect(replacementReasons(state, { ...inputs, imageId: "b".repeat(64) })).toEqual([
      "imageId",
      "running",
    ]);
  });
});

describe("engine events → phase events", () => {
  const step = (op: string, type: string, name: string, outputs: Record<string, unknown> = {}) => ({
    op,
    urn: `urn:pulumi:t::exoform::${type}::${name}`,
    type,
    provider: "",
    new: { outputs } as never,
  });
  const QEMU = "pulumi-nodejs:dynamic/local:QemuVm";
  const ev = (e: Partial<EngineEvent>) => ({ sequence: 0, timestamp: 0, ...e }) as EngineEvent;

  test("program events from the channel are validated line by line", () => {
    const good = { phase: "image", status: "stop", message: "built" };
    expect(
      decodeProgramEvents([
        JSON.stringify(good),
        "not json",
        JSON.stringify({ phase: "image", status: "finished", message: "x" }),
        "",
      ]),
    ).toEqual({ events: [good], malformed: 2 });
  });

  test("info diagnostics (the program's lines for plain pulumi) are not progress", () => {
    const state = newEngineEventState();
    expect(
      translateEngineEvent(
        ev({
          diagnosticEvent: { message: "image: built\n", color: "never", severity: "info" },
        }),
        state,
      ),
    ).toEqual([]);
  });

  test("resource types nobody describes still show progress, in generic words", () => {
    const state = newEngineEventState();
    const type = "digitalocean:index/vpc:Vpc";
    expect(shortType(type)).toBe("digitalocean:Vpc");
    expect(
      translateEngineEvent(
        ev({ resourcePreEvent: { metadata: step("create", type, "web-0") as never } }),
        state,
      ),
    ).toEqual([
      { phase: "resource", status: "start", message: "creating web-0 (digitalocean:Vpc)" },
    ]);
    // Components and the stack only group other resources.
    expect(
      translateEngineEvent(
        ev({
          resourcePreEvent: { metadata: step("create", "exoform:local:Instance", "vm-0") as never },
        }),
        state,
      ),
    ).toEqual([]);
  });

  test("a run that failed only while removing old resources is told apart from a failed create", () => {
    const failed = (op: string) => {
      const state = newEngineEventState();
      translateEngineEvent(
        ev({
          resOpFailedEvent: { metadata: step(op, QEMU, "vm-0-qemu") as never, status: 1, steps: 1 },
        }),
        state,
      );
      return state;
    };
    expect(onlyRemovalsFailed(failed("delete"))).toBe(true);
    expect(onlyRemovalsFailed(failed("delete-replaced"))).toBe(true);
    expect(onlyRemovalsFailed(failed("create"))).toBe(false);
    expect(onlyRemovalsFailed(failed("update"))).toBe(false);
    // No failed resource operation (the program itself failed): not a removal failure.
    expect(onlyRemovalsFailed(newEngineEventState())).toBe(false);
  });

  test("resource steps, failures and errors", () => {
    const state = newEngineEventState();
    expect(
      translateEngineEvent(
        ev({ resourcePreEvent: { metadata: step("create", QEMU, "vm-0-qemu") as never } }),
        state,
      ),
    ).toEqual([{ phase: "instance", status: "start", message: "starting QEMU for vm-0-qemu" }]);
    const done = translateEngineEvent(
      ev({
        resOutputsEvent: {
          metadata: step("create", QEMU, "vm-0-qemu", { pid: 7, netns: "exoform-t-0-1" }) as never,
        },
      }),
      state,
    );
    expect(done[0].message).toBe("vm-0-qemu running (pid 7, netns exoform-t-0-1)");
    expect(state.created).toEqual([`urn:pulumi:t::exoform::${QEMU}::vm-0-qemu`]);
    translateEngineEvent(
      ev({ resOutputsEvent: { metadata: step("create-replacement", QEMU, "vm-1-qemu") as never } }),
      state,
    );
    expect(state.created).toHaveLength(1); // a replacement's URN also names the old instance
    translateEngineEvent(
      ev({
        resOpFailedEvent: {
          metadata: step(
            "create",
            "pulumi-nodejs:dynamic/health:HealthCheck",
            "vm-0-health",
          ) as never,
          status: 1,
          steps: 1,
        },
      }),
      state,
    );
    expect(state.resourceFailed).toBe(true);
    translateEngineEvent(
      ev({
        diagnosticEvent: {
          message: "error: health check failed for t-0:\n  http: x\n",
          color: "never",
          severity: "error",
        },
      }),
      state,
    );
    expect(state.errors).toEqual(["health check failed for t-0:\n  http: x"]);
  });
});

describe("the CI rule of privileged suites", () => {
  test("CI means CI set to anything but empty, false or 0", () => {
    expect([undefined, "", "false", "FALSE", "0"].map((CI) => isCi({ CI }))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(["true", "1", "yes", "github"].map((CI) => isCi({ CI }))).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });
});
