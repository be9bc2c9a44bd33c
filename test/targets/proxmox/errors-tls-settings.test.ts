/**
 * Error messages (parsed from proxmox-api's formats, never carrying the token), TLS option
 * handling (fingerprints, per-connection trust), and the `exoform:proxmox` settings schema.
 */
import * as util from "node:util";
import {
  describeFailure,
  parseClientError,
  PveApiError,
  redact,
} from "../../../infra/targets/proxmox/errors";
import { PveSession } from "../../../infra/targets/proxmox/client";
import {
  connectOptionsFor,
  normalizeFingerprint,
  pinProblem,
} from "../../../infra/targets/proxmox/tls";
import {
  ProxmoxSettingsSchema,
  settingsProblemsFor,
} from "../../../infra/targets/proxmox/settings";

const SECRET = "0123abcd-4567-89ef-0123-456789abcdef";

describe("proxmox-api error messages", () => {
  test("a 400 with per-parameter errors", () => {
    const msg =
      'POST https://pve1:8006/api2/json/nodes/pve1/qemu return Error 400 Parameter verification failed.: {"data":null,"errors":{"smbios1":"invalid format"}}';
    expect(parseClientError(msg)).toEqual({
      method: "POST",
      path: "/api2/json/nodes/pve1/qemu",
      status: 400,
      reason: "Parameter verification failed.",
      paramErrors: { smbios1: "invalid format" },
    });
    expect(new PveApiError("create VM 104", new Error(msg), [SECRET]).message).toBe(
      "create VM 104: POST /api2/json/nodes/pve1/qemu answered 400 Parameter verification failed. (smbios1: invalid format)",
    );
  });

  test("a 500 whose reason contains ': ' keeps all of it", () => {
    const msg =
      "POST https://h/api2/json/nodes/n/qemu return Error 500 unable to create VM 104 - command 'x' failed: exit code 1: {\"data\":null}";
    expect(parseClientError(msg)?.reason).toBe(
      "unable to create VM 104 - command 'x' failed: exit code 1",
    );
  });

  test("a query-string parameter and the host never reach the message; the path does", () => {
    const msg = `GET https://h:8006/api2/json/nodes/n/storage/s/content?content=import return Error 403 Permission check failed (/storage/s, Datastore.Audit): {"data":null}`;
    const e = new PveApiError("list imports", new Error(msg), [SECRET]);
    expect(e.message).toContain("GET /api2/json/nodes/n/storage/s/content answered 403");
    expect(e.message).toContain("lacks a privilege");
    expect(e.message).not.toContain("content=import");
  });

  test("no answer at all is recognisable (the guard against double creates relies on it)", () => {
    const e = new PveApiError(
      "create VM 104",
      new Error(
        "FaILED to call POST https://h/api2/json/nodes/n/qemu cause by:connect ECONNREFUSED 127.0.0.1:8006",
      ),
      [SECRET],
    );
    expect(e.noAnswer).toBe(true);
    expect(e.status).toBeUndefined();
    expect(e.message).toBe(
      "create VM 104: POST /api2/json/nodes/n/qemu: connect ECONNREFUSED 127.0.0.1:8006",
    );
  });

  test("401 says which settings to check", () => {
    const f = parseClientError(
      'GET https://h/api2/json/version return Error 401 authentication failure: {"data":null}',
    );
    expect(describeFailure("read version", f, "")).toMatch(
      /401 authentication failure — check exoform:proxmox.tokenId/,
    );
  });

  test("a secret that appears anywhere in a message is removed", () => {
    const msg = `PVEAPIToken=u@pve!t=${SECRET} rejected`;
    expect(redact(msg, [SECRET])).toBe("PVEAPIToken=u@pve!t=[secret] rejected");
    expect(new PveApiError("x", new Error(msg), [SECRET]).message).not.toContain(SECRET);
  });

  test("a session prints without its token (util.inspect, JSON, String)", () => {
    const session = new PveSession({
      endpoint: "https://127.0.0.1:8006",
      tokenId: "exoform@pve!deploy",
      tokenSecret: SECRET,
      tls: { mode: "insecure" },
    });
    for (const text of [
      util.inspect(session, { depth: 10, showHidden: true }),
      JSON.stringify({ session }),
      String(session),
    ])
      expect(text).not.toContain(SECRET);
    expect(String(session)).toBe("PveSession(https://127.0.0.1:8006)");
    return session.close();
  });

  test("a malformed token secret fails without echoing it", () => {
    const bad = "NOT-A-UUID-SECRET-VALUE";
    const spy = jest.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      expect(
        () =>
          new PveSession({
            endpoint: "https://127.0.0.1:8006",
            tokenId: "exoform@pve!deploy",
            tokenSecret: bad,
            tls: { mode: "system" },
          }),
      ).toThrow(/connect to https:\/\/127\.0\.0\.1:8006: invalid tokenSecret/);
      for (const call of spy.mock.calls) expect(String(call)).not.toContain(bad);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("TLS options", () => {
  const FP = "ab:cd:".repeat(16).slice(0, -1); // 32 pairs

  test("fingerprints: any case, colons optional, normalized to Node's form", () => {
    const normalized = normalizeFingerprint(FP);
    expect(normalized).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(normalizeFingerprint(FP.replace(/:/g, "").toUpperCase())).toBe(normalized);
    expect(() => normalizeFingerprint("abcd")).toThrow(/64 hex digits/);
  });

  test("the pin accepts only the pinned certificate", () => {
    const pinned = normalizeFingerprint(FP);
    expect(pinProblem({ fingerprint256: pinned }, FP)).toBeUndefined();
    expect(pinProblem({ fingerprint256: "00:".repeat(31) + "00" }, FP)).toMatch(/not the pinned/);
    expect(pinProblem(undefined, FP)).toBe("the server sent no certificate");
  });

  test("connect options per setting: CA replaces the store, pin and insecure skip the chain", () => {
    expect(connectOptionsFor({ mode: "system" })).toEqual({});
    expect(connectOptionsFor({ mode: "ca", caPem: "PEM" })).toEqual({ ca: "PEM" });
    expect(connectOptionsFor({ mode: "fingerprint", sha256: FP })).toEqual({
      rejectUnauthorized: false,
    });
    expect(connectOptionsFor({ mode: "insecure" })).toEqual({ rejectUnauthorized: false });
    expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBeUndefined();
  });
});

describe("exoform:proxmox settings", () => {
  const base = {
    endpoint: "https://pve1.example.net:8006",
    node: "pve1",
    tokenId: "exoform@pve!deploy",
    tokenSecret: SECRET,
  };

  test("defaults", () => {
    expect(ProxmoxSettingsSchema.parse(base)).toEqual({
      ...base,
      importStorage: "local",
      diskStorage: "local-lvm",
      imageFormat: "raw",
      bridge: "vmbr0",
      addressing: { mode: "dhcp" },
      memoryMb: 16,
      taskTimeoutSeconds: 600,
      monthlyCostUsdPerVm: 0,
    });
  });

  function issues(input: Record<string, unknown>): string[] {
    const r = ProxmoxSettingsSchema.safeParse(input);
    if (r.success) return [];
    return r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  }

  test("each bad field gets its own message, without echoing the secret", () => {
    const found = issues({
      ...base,
      endpoint: "https://pve1:8006/api2/json",
      tokenId: "exoform!deploy",
      tokenSecret: "Not-A-Uuid-But-Secret",
      memoryMb: 4,
      tls: { fingerprint: "zz" },
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^endpoint: must be http\(s\):\/\/host\[:port\] without a path/),
        expect.stringMatching(/^tokenId: must be USER@REALM!TOKENID/),
        expect.stringMatching(/^tokenSecret: must be the token's secret, a lower-case UUID$/),
        expect.stringMatching(/^memoryMb: /),
        expect.stringMatching(/^tls/),
      ]),
    );
    expect(found.join("\n")).not.toContain("Not-A-Uuid-But-Secret");
  });

  test("a missing secret says how to set it", () => {
    const noSecret: Partial<typeof base> = { ...base };
    delete noSecret.tokenSecret;
    expect(issues(noSecret)).toEqual([
      expect.stringMatching(
        /^tokenSecret: is required: pulumi config set --secret --path exoform:proxmox.tokenSecret/,
      ),
    ]);
  });

  test("static pools: well-formed, no duplicates, gateway on the subnet, two per instance", () => {
    expect(
      issues({
        ...base,
        addressing: {
          mode: "static",
          pool: ["10.0.0.5/24", "10.0.0.5/24", "10.1.0.9/24"],
          gateway: "10.0.0.1",
        },
      }),
    ).toEqual([
      "addressing.pool.1: 10.0.0.5 is listed twice",
      "addressing.gateway: 10.0.0.1 is not on the subnet of 10.1.0.9/24",
    ]);
    const ok = ProxmoxSettingsSchema.parse({
      ...base,
      addressing: { mode: "static", pool: ["10.0.0.5/24", "10.0.0.6/24", "10.0.0.7/24"] },
    });
    expect(settingsProblemsFor(ok, 1)).toEqual([]);
    expect(settingsProblemsFor(ok, 2)).toEqual([
      expect.stringMatching(/pool: has 3 address\(es\); 2 instance\(s\) need 4/),
    ]);
    expect(issues({ ...base, addressing: { mode: "bridge" } })).toEqual([
      'addressing.mode: must be "static" or "dhcp"',
    ]);
  });

  test("plain http is refused unless insecure is explicit", () => {
    expect(issues({ ...base, endpoint: "http://pve1:8006" })).toEqual([
      expect.stringMatching(/^endpoint: is plain http: the API token would travel unencrypted/),
    ]);
    expect(issues({ ...base, endpoint: "http://pve1:8006", tls: { insecure: true } })).toEqual([]);
  });

  test("TLS: exactly one of caFile, fingerprint, insecure: true", () => {
    expect(issues({ ...base, tls: { caFile: "/etc/pve-ca.pem" } })).toEqual([]);
    expect(issues({ ...base, tls: { insecure: true } })).toEqual([]);
    expect(issues({ ...base, tls: { insecure: false } }).length).toBeGreaterThan(0);
    expect(issues({ ...base, tls: { caFile: "/x", insecure: true } }).length).toBeGreaterThan(0);
  });
});
