/**
 * The image configuration: what goes into the configuration block (network, HTTP port and
 * body, hostname). One zod schema, used here, by infra/ inside the stack schema, and by the
 * CLI; every check matches what the kernel accepts (kernel/config.c), and a few are stricter
 * so that a mistake is caught at build time instead of on a booted machine's serial console.
 */
import * as fs from "node:fs/promises";
import { z } from "zod";
import { parseIpv4, sameSubnet } from "../lib/ipv4";
import { bodyBudget } from "./config-block";
import { ConfigProblem, ImageConfigError } from "./errors";

export interface ImageConfig {
  /** DHCP, or a static IPv4 address with prefix length and an optional on-subnet gateway. */
  network:
    { mode: "dhcp" } | { mode: "static"; address: string /* "10.0.0.5/24" */; gateway?: string };
  /**
   * The HTTP server: its port (default 80), the body it answers `GET /` with, and that body's
   * Content-Type (default {@link DEFAULT_CONTENT_TYPE}).
   */
  http: { port: number; body: string; contentType: string };
  /** Sent as DHCP option 12; 1–63 of [a-z0-9-] (default "exoform"). */
  hostname: string;
}

export const DEFAULT_HTTP_BODY = "Hello from exoform!\n";
/** The kernel's own default too (kernel/config.h), for blocks without the setting. */
export const DEFAULT_CONTENT_TYPE = "text/plain; charset=utf-8";
/** The kernel's limit (CONFIG_CONTENT_TYPE_MAX): it copies the value into a 128-byte buffer. */
const CONTENT_TYPE_MAX = 127;

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)"; // 0–255, no leading zeros (not octal)
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const CIDR = new RegExp(`^(${OCTET}(?:\\.${OCTET}){3})/(3[0-2]|[12]?\\d)$`);
const HOSTNAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// RFC 9110 8.3.1: media-type = type "/" subtype parameters; parameters are
// OWS ";" OWS name "=" (token / quoted-string). Printable ASCII only (the kernel's check).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[ !#-\\[\\]-~]|\\\\[ -~])*"';
const MEDIA_TYPE = new RegExp(
  `^${TOKEN}/${TOKEN}(?:[ \t]*;[ \t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*$`,
);

/** Why `ip` cannot be a host address on its /prefix subnet, or undefined when it can. */
function hostAddressProblem(ip: number, prefix: number): string | undefined {
  if (ip === 0) return "is the unspecified address";
  if (ip >>> 24 === 127) return "is a loopback address";
  if (ip >>> 24 >= 224) return "is a multicast or reserved address";
  if (prefix <= 30) {
    const hostBits = 2 ** (32 - prefix) - 1;
    if ((ip & hostBits) === 0) return "is the network address of its subnet";
    if ((ip & hostBits) >>> 0 === hostBits) return "is the broadcast address of its subnet";
  }
  return undefined;
}

const DhcpNetworkSchema = z.object({ mode: z.literal("dhcp") }).strict();

const StaticNetworkSchema = z
  .object({
    mode: z.literal("static"),
    address: z.string().regex(CIDR, {
      error: (issue) =>
        `must be an IPv4 address with a prefix length, like 10.0.0.5/24 (got ${JSON.stringify(issue.input)})`,
    }),
    gateway: z
      .string()
      .regex(IPV4, {
        error: (issue) =>
          `must be an IPv4 address, like 10.0.0.1 (got ${JSON.stringify(issue.input)})`,
      })
      .optional(),
  })
  .strict()
  .superRefine((net, ctx) => {
    // The format checks above do not stop parsing: judge only well-formed values here.
    if (!CIDR.test(net.address) || (net.gateway !== undefined && !IPV4.test(net.gateway))) return;
    const [addressText, prefixText] = net.address.split("/");
    const address = parseIpv4(addressText);
    const prefix = Number(prefixText);
    if (prefix === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["address"],
        message: `prefix length must be 1–32 (got ${net.address})`,
      });
      return;
    }
    const addressProblem = hostAddressProblem(address, prefix);
    if (addressProblem)
      ctx.addIssue({
        code: "custom",
        path: ["address"],
        message: `${net.address} ${addressProblem}`,
      });
    if (net.gateway === undefined) return;
    const gateway = parseIpv4(net.gateway);
    const problem = !sameSubnet(gateway, address, prefix)
      ? `is not on the subnet of ${net.address}`
      : gateway === address
        ? "is the address itself"
        : hostAddressProblem(gateway, prefix);
    if (problem)
      ctx.addIssue({ code: "custom", path: ["gateway"], message: `${net.gateway} ${problem}` });
  });

const HttpSchema = z
  .object({
    port: z.number().int().min(1).max(65535).default(80),
    body: z.string().default(DEFAULT_HTTP_BODY),
    contentType: z
      .string()
      .max(CONTENT_TYPE_MAX, { error: `must be at most ${CONTENT_TYPE_MAX} characters` })
      .regex(MEDIA_TYPE, {
        error: (issue) =>
          `must be a media type like "text/html; charset=utf-8" (got ${JSON.stringify(issue.input)})`,
      })
      .default(DEFAULT_CONTENT_TYPE),
  })
  .strict();

export const ImageConfigSchema = z
  .object({
    network: z
      .discriminatedUnion("mode", [DhcpNetworkSchema, StaticNetworkSchema], {
        error: (issue) =>
          issue.code === "invalid_union" ? 'must be "dhcp" or "static"' : undefined,
      })
      .default({ mode: "dhcp" }),
    http: HttpSchema.default({
      port: 80,
      body: DEFAULT_HTTP_BODY,
      contentType: DEFAULT_CONTENT_TYPE,
    }),
    hostname: z
      .string()
      .regex(HOSTNAME, {
        error: (issue) =>
          `must be 1–63 characters of a–z, 0–9 and "-", not starting or ending with "-" (got ${JSON.stringify(issue.input)})`,
      })
      .default("exoform"),
  })
  .strict()
  .superRefine((config, ctx) => {
    const budget = bodyBudget(config);
    const bytes = Buffer.byteLength(config.http.body, "utf8");
    if (bytes > budget) {
      ctx.addIssue({
        code: "custom",
        path: ["http", "body"],
        message: `is ${bytes} bytes (UTF-8), but the 4 KiB configuration block has room for ${budget} bytes of body next to these settings`,
      });
    }
  });

/** What a configuration file or a stack may contain: every field optional, defaults applied. */
export type ImageConfigInput = z.input<typeof ImageConfigSchema>;

// The interface above is the documented shape; the schema must produce exactly it.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesInterface: Same<z.output<typeof ImageConfigSchema>, ImageConfig> = true;
void schemaMatchesInterface;

/**
 * A zod issue about `input` as problems naming their field (`network.address`, `http.port`);
 * also what the stack configuration (infra/config.ts) reports its issues with.
 */
export function describeConfigIssue(issue: z.core.$ZodIssue, input: unknown): ConfigProblem[] {
  const field = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      field: field ? `${field}.${key}` : key,
      message: "unknown setting",
    }));
  }
  const missing =
    field !== "" && issue.code !== "custom" && valueAt(input, issue.path) === undefined;
  return [
    { field: field || undefined, message: missing ? "required setting is missing" : issue.message },
  ];
}

function valueAt(input: unknown, at: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of at) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * Validates an image configuration (from a file, a stack's Pulumi config, code) and applies
 * the defaults. Throws ImageConfigError naming every bad field and `where` it came from.
 */
export function parseImageConfig(input: unknown, where?: string): ImageConfig {
  const result = ImageConfigSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ImageConfigError(
    where,
    result.error.issues.flatMap((issue) => describeConfigIssue(issue, input)),
  );
}

/** Reads and validates a JSON image configuration file (`exoform build --config <file>`). */
export async function loadImageConfigFile(file: string): Promise<ImageConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    throw new ImageConfigError(file, [
      { message: `cannot read the file: ${(e as Error).message}` },
    ]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ImageConfigError(file, [{ message: `not valid JSON: ${(e as Error).message}` }]);
  }
  return parseImageConfig(data, file);
}
