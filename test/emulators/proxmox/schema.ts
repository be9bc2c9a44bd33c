/**
 * Request validation against Proxmox VE's own API schema: the extract of pve-docs
 * `api-viewer/apidata.js` in schema/pve-api-subset.json (see schema/extract-apidata.mjs).
 *
 * The checks follow pve-common `src/PVE/JSONSchema.pm` (`check_object`, `check_prop`,
 * `check_type`, `parse_property_string`), with its error texts, so the 400 "Parameter
 * verification failed." answers look like PVE's. Covered: unknown parameters
 * (`additionalProperties: 0`), missing required ones, `requires`, types (string, integer,
 * number, boolean as `0`/`1`), `enum`, `pattern`, `maxLength`/`minLength`,
 * `minimum`/`maximum`, property-string formats (objects: `default_key`, `alias`, `keyAlias`,
 * each item checked like a parameter) and the cheap named formats below. A named format not
 * listed in NAMED_FORMATS is accepted (it is reported by {@link unknownFormats}).
 * Indexed parameters (`virtio0` … `virtio15`) appear in apidata.js once, as `virtio[n]`.
 */
import apiSubset from "./schema/pve-api-subset.json";

/** One parameter's schema, as apidata.js writes it. */
export interface ParamSchema {
  type?: string;
  optional?: number;
  format?: string | Record<string, ParamSchema>;
  pattern?: string;
  enum?: string[];
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  requires?: string;
  default_key?: number;
  alias?: string;
  keyAlias?: string;
  default?: unknown;
}

interface MethodSchema {
  name: string;
  allowtoken: number;
  parameters: { additionalProperties?: number; properties?: Record<string, ParamSchema> };
}

type Endpoints = Record<string, Record<string, MethodSchema>>;
const endpoints = (apiSubset as unknown as { endpoints: Endpoints }).endpoints;

/** Where the extract comes from (repository, path, commit). */
export const schemaSource = (apiSubset as { source: Record<string, string> }).source;

/** PVE's `{param: message}` errors (the `errors` of a 400 answer). */
export type ParamErrors = Record<string, string>;

/**
 * Named property-string formats that apidata.js refers to by name only, from qemu-server
 * `src/PVE/QemuServer.pm` (descriptions left out).
 */
const BASE64_TEXT = { type: "string", pattern: "[A-Za-z0-9+\\/]+={0,2}", optional: 1 };
const NAMED_PROPERTY_STRING_FORMATS: Record<string, Record<string, ParamSchema>> = {
  "pve-qm-smbios1": {
    uuid: {
      type: "string",
      pattern: "[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}",
      optional: 1,
    },
    version: BASE64_TEXT,
    serial: BASE64_TEXT,
    manufacturer: BASE64_TEXT,
    product: BASE64_TEXT,
    sku: BASE64_TEXT,
    family: BASE64_TEXT,
    base64: { type: "boolean", optional: 1 },
  },
  // qemu-server src/PVE/QemuServer.pm $boot_fmt
  "pve-qm-boot": {
    legacy: { type: "string", pattern: "[acdn]{1,4}", default_key: 1, optional: 1 },
    order: { type: "string", format: "pve-qm-bootdev-list", optional: 1 },
  },
};

/** Named string formats: a check that throws PVE's message (pve-common JSONSchema.pm). */
const NAMED_FORMATS: Record<string, (v: string) => void> = {
  "pve-node": (v) => {
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v))
      throw new Error("value does not look like a valid node name");
  },
  "pve-vmid": (v) => {
    if (!/^[1-9][0-9]{2,8}$/.test(v)) throw new Error("value does not look like a valid VM ID");
  },
  "pve-storage-id": (v) => {
    if (v.length < 2) throw new Error(`storage ID '${v}' cannot be shorter than 2 characters`);
    if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v))
      throw new Error(`storage ID '${v}' contains illegal characters`);
  },
  "pve-bridge-id": (v) => {
    if (!/^[-_.\w\d]+$/.test(v)) throw new Error(`invalid bridge ID '${v}'`);
  },
  "pve-configid": (v) => {
    if (!/^[a-z][a-z0-9_-]+$/i.test(v)) throw new Error(`invalid configuration ID '${v}'`);
  },
  // pve-storage `PVE::Storage::parse_volume_id`: `<storage>:<name>`, or an absolute path where allowed.
  "pve-volume-id-or-qm-path": volumeIdOrPath,
  "pve-volume-id-or-absolute-path": volumeIdOrPath,
  "dns-name": (v) => {
    const label = "[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?";
    if (!new RegExp(`^(${label}\\.)*${label}$`).test(v))
      throw new Error("value does not look like a valid DNS name");
  },
  "disk-size": (v) => {
    if (!/^(\d+(\.\d+)?)([KMGT](?:iB)?)?$/.test(v))
      throw new Error(`value does not look like a valid disk size: ${v}`);
  },
  // qemu-server QemuServer.pm pve_verify_bootdev: a disk, NIC or passed-through device key
  "pve-qm-bootdev": (v) => {
    if (!/^((ide|sata|scsi|virtio|efidisk|tpmstate|net|hostpci|usb)\d+)$/.test(v))
      throw new Error(`invalid boot device '${v}'`);
  },
  "pve-storage-content": (v) => {
    if (!/^(images|rootdir|vztmpl|iso|backup|snippets|import|none)$/.test(v))
      throw new Error(`invalid content type '${v}'`);
  },
};

function volumeIdOrPath(v: string): void {
  if (v.startsWith("/") || /^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i.test(v)) return;
  if (v === "none" || v === "cdrom") return;
  throw new Error(`unable to parse volume ID '${v}'`);
}

const seenUnknownFormats = new Set<string>();

/** Named formats met during validation that this module does not check (accepted). */
export function unknownFormats(): string[] {
  return [...seenUnknownFormats].sort();
}

/** The method schema for `METHOD /path/{template}`, or undefined when apidata.js has none. */
export function methodSchema(method: string, template: string): MethodSchema | undefined {
  return endpoints[template]?.[method];
}

/** The templates of the extract, e.g. `/nodes/{node}/qemu/{vmid}/config`. */
export function pathTemplates(): string[] {
  return Object.keys(endpoints);
}

/**
 * The property-string format of a parameter of `METHOD template` (`virtio0` → `virtio[n]`'s,
 * `smbios1` → the named `pve-qm-smbios1`), for handlers that parse what they were given.
 */
export function propertyStringFormat(
  method: string,
  template: string,
  key: string,
): Record<string, ParamSchema> {
  const props = methodSchema(method, template)?.parameters.properties ?? {};
  const format = schemaFor(props, key)?.format;
  if (typeof format === "object") return format;
  const named = format !== undefined ? NAMED_PROPERTY_STRING_FORMATS[format] : undefined;
  if (!named) throw new Error(`${method} ${template} ${key} has no property-string format`);
  return named;
}

/** `virtio0` → `virtio[n]` when only the indexed form is in the schema. */
function schemaFor(props: Record<string, ParamSchema>, key: string): ParamSchema | undefined {
  if (props[key]) return props[key];
  const m = /^([a-z]+)(\d+)$/.exec(key);
  return m ? props[`${m[1]}[n]`] : undefined;
}

const isInteger = (v: string) => /^[+-]?\d+$/.test(v);
const isNumber = (v: string) => /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(v);

function addError(errors: ParamErrors, path: string, msg: string): void {
  errors[path] = errors[path] ? `${errors[path]}\\n${msg}` : msg;
}

/** pve-common `check_prop` for one string value (all API parameters arrive as strings). */
function checkProp(value: string | undefined, s: ParamSchema, path: string, errors: ParamErrors) {
  if (s.alias) return;
  if (value === undefined) {
    if (!s.optional) addError(errors, path, "property is missing and it is not optional");
    return;
  }
  const type = s.type ?? "string";
  if (type === "boolean" && value !== "0" && value !== "1")
    return addError(errors, path, `type check ('boolean') failed - got '${value}'`);
  if (type === "integer" && !isInteger(value))
    return addError(errors, path, `type check ('integer') failed - got '${value}'`);
  if (type === "number" && !isNumber(value))
    return addError(errors, path, `type check ('number') failed - got '${value}'`);
  if (s.format !== undefined) {
    try {
      checkFormat(s.format, value, path);
    } catch (e) {
      return addError(errors, path, `invalid format - ${(e as Error).message}`);
    }
  }
  if (s.pattern !== undefined && !new RegExp(`^(?:${s.pattern})$`).test(value))
    return addError(errors, path, "value does not match the regex pattern");
  if (s.maxLength !== undefined && value.length > s.maxLength)
    return addError(errors, path, `value may only be ${s.maxLength} characters long`);
  if (s.minLength !== undefined && value.length < s.minLength)
    return addError(errors, path, `value must be at least ${s.minLength} characters long`);
  if (isNumber(value)) {
    if (s.maximum !== undefined && Number(value) > s.maximum)
      return addError(errors, path, `value must have a maximum value of ${s.maximum}`);
    if (s.minimum !== undefined && Number(value) < s.minimum)
      return addError(errors, path, `value must have a minimum value of ${s.minimum}`);
  }
  if (s.enum && !s.enum.includes(value))
    addError(
      errors,
      path,
      `value '${value}' does not have a value in the enumeration '${s.enum.join(", ")}'`,
    );
}

function checkFormat(format: string | Record<string, ParamSchema>, value: string, path: string) {
  if (typeof format === "object") return void parsePropertyString(format, value, path);
  const named = NAMED_PROPERTY_STRING_FORMATS[format];
  if (named) return void parsePropertyString(named, value, path);
  const list = /^(.*)-list$/.exec(format);
  const check = NAMED_FORMATS[list ? list[1] : format];
  if (!check) {
    seenUnknownFormats.add(format);
    return;
  }
  for (const item of list ? value.split(/[,; ]+/).filter(Boolean) : [value]) check(item);
}

/**
 * pve-common `parse_property_string`: `k=v` items split on commas, a bare item goes to the
 * `default_key`, aliases (`virtio=MAC` → `model=virtio,macaddr=MAC`) are resolved; then every
 * item is checked like a parameter. Throws `format error` with the item errors in the message.
 */
export function parsePropertyString(
  format: Record<string, ParamSchema>,
  data: string,
  path = "",
): Record<string, string> {
  const res: Record<string, string> = {};
  let defaultKeyUsed = false;
  for (const part of data.split(",")) {
    if (/^\s*$/.test(part)) continue;
    const kv = /^([^=]+)=(.+)$/.exec(part);
    if (kv) {
      let [k, v] = [kv[1], kv[2]];
      if (res[k] !== undefined)
        throw new Error(`duplicate key in comma-separated list property: ${k}`);
      let schema = format[k];
      if (schema?.alias) {
        if (schema.keyAlias) res[schema.keyAlias] = k;
        k = schema.alias;
        schema = format[k];
      }
      if (!schema) throw new Error(`invalid key in comma-separated list property: ${k}`);
      if (schema.type === "boolean") v = parseBoolean(v) ?? v;
      res[k] = v;
    } else if (!part.includes("=")) {
      const key = Object.keys(format).find((k) => format[k].default_key);
      if (!key) throw new Error("value without key, but schema does not define a default key");
      if (defaultKeyUsed || res[key] !== undefined)
        throw new Error(`duplicate key in comma-separated list property: ${key}`);
      defaultKeyUsed = true;
      res[key] = format[key].type === "boolean" ? (parseBoolean(part) ?? part) : part;
    } else {
      throw new Error("missing key in comma-separated list property");
    }
  }
  const errors: ParamErrors = {};
  for (const [k, s] of Object.entries(format))
    checkProp(res[k], s, path ? `${path}.${k}` : k, errors);
  if (Object.keys(errors).length > 0)
    throw new Error(
      `format error\n${Object.entries(errors)
        .map(([k, m]) => `${k}: ${m}`)
        .join("\n")}`,
    );
  return res;
}

/** pve-common `parse_boolean`. */
export function parseBoolean(v: string): string | undefined {
  if (/^(1|on|yes|true)$/i.test(v)) return "1";
  if (/^(0|off|no|false)$/i.test(v)) return "0";
  return undefined;
}

/**
 * Validates all parameters of one request (path, query and body merged, as PVE merges them)
 * against `METHOD template`; returns PVE's errors, empty when the request is valid.
 */
export function validateRequest(
  method: string,
  template: string,
  params: Record<string, string>,
): ParamErrors {
  const schema = methodSchema(method, template);
  if (!schema) return { _root: `no schema for ${method} ${template}` };
  const props = schema.parameters.properties ?? {};
  const errors: ParamErrors = {};
  for (const [k, s] of Object.entries(props)) {
    if (k.endsWith("[n]")) continue; // indexed: checked per given key below
    checkProp(params[k], s, k, errors);
  }
  for (const [k, v] of Object.entries(params)) {
    const s = schemaFor(props, k);
    if (!s) {
      if (schema.parameters.additionalProperties === 0)
        addError(
          errors,
          k,
          "property is not defined in schema and the schema does not allow additional properties",
        );
      continue;
    }
    if (props[k] === undefined) checkProp(v, s, k, errors); // an indexed key
    if (s.requires && params[s.requires] === undefined)
      addError(errors, s.requires, `missing property required by '${k}'`);
  }
  return errors;
}
