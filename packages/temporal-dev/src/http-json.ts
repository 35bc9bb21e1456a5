// Protobuf JSON as the official Temporal HTTP API writes and reads it (grpc-gateway with api-go's
// marshaler): lowerCamelCase names (proto names accepted too), int64 as strings, enums by name, bytes in
// base64, Timestamp as RFC 3339, Duration as "1.5s", FieldMask as "a.b,cD", unset and zero fields left out. Payloads use the
// official "shorthand" (api-go's payload_json.go) unless the caller asks for ?noPayloadShorthand: a
// json/plain payload (no other metadata) is written as its JSON value, binary/null as null, json/protobuf
// as its object with _protoMessageType; a Payloads whose payloads all have a shorthand is written as a
// bare array. On input, a payload that is not exactly {metadata (with an encoding), data} is read as
// json/plain, and a Payloads may be an array.
import type * as protobuf from 'protobufjs';
import type { Obj } from './model.ts';

const TIMESTAMP = '.google.protobuf.Timestamp';
const DURATION = '.google.protobuf.Duration';
const FIELD_MASK = '.google.protobuf.FieldMask';
const PAYLOAD = '.temporal.api.common.v1.Payload';
const PAYLOADS = '.temporal.api.common.v1.Payloads';
const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (n) => `.google.protobuf.${n}Value`,
  ),
);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const JSON_PLAIN = b64('json/plain');
const BINARY_NULL = b64('binary/null');
const JSON_PROTOBUF = b64('json/protobuf');
const NO_SHORTHAND = Symbol('no shorthand');

/** A payload (toObject form, base64 strings) as its shorthand value, or NO_SHORTHAND. */
function shorthand(obj: Obj): unknown {
  const meta: Record<string, string> = obj.metadata ?? {};
  const keys = Object.keys(meta);
  const data = () => Buffer.from(obj.data ?? '', 'base64').toString('utf8');
  try {
    if (meta.encoding === BINARY_NULL) return null;
    if (meta.encoding === JSON_PLAIN && keys.length === 1) return JSON.parse(data());
    if (meta.encoding === JSON_PROTOBUF && meta.messageType && keys.length === 2) {
      const value = JSON.parse(data());
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        return { ...value, _protoMessageType: Buffer.from(meta.messageType, 'base64').toString('utf8') };
    }
  } catch {
    // not JSON after all: the standard form
  }
  return NO_SHORTHAND;
}

export interface JsonOptions {
  shorthand: boolean;
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function fraction(nanos: number): string {
  if (!nanos) return '';
  const digits = String(nanos).padStart(9, '0');
  return `.${digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits}`;
}

function isDefault(field: protobuf.Field, v: unknown): boolean {
  if (field.repeated || field.map || field.options?.proto3_optional || field.partOf?.oneof.length)
    return false;
  if (field.resolvedType && 'values' in field.resolvedType) {
    return v === 0 || (field.resolvedType as protobuf.Enum).values[v as string] === 0;
  }
  return v === 0 || v === '0' || v === '' || v === false;
}

/** A decoded message (protobufjs toObject with longs, enums and bytes as String) to protobuf JSON. */
export function toJson(type: protobuf.Type, obj: Obj, opts: JsonOptions): unknown {
  switch (type.fullName) {
    case TIMESTAMP: {
      const seconds = Number(obj.seconds ?? 0);
      const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
      return `${iso}${fraction(obj.nanos ?? 0)}Z`;
    }
    case DURATION: {
      const seconds = Number(obj.seconds ?? 0);
      return `${seconds}${fraction(Math.abs(obj.nanos ?? 0))}s`;
    }
    case FIELD_MASK:
      return ((obj.paths ?? []) as string[]).map(camel).join(',');
    case PAYLOAD:
      if (opts.shorthand) {
        const v = shorthand(obj);
        if (v !== NO_SHORTHAND) return v;
      }
      break;
    case PAYLOADS:
      if (opts.shorthand) {
        const vs = ((obj.payloads ?? []) as Obj[]).map(shorthand);
        if (!vs.includes(NO_SHORTHAND)) return vs;
      }
      break;
  }
  if (WRAPPERS.has(type.fullName)) return obj.value;
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined || v === null || isDefault(field, v)) continue;
    field.resolve();
    const sub = field.resolvedType;
    const conv = (x: Obj) => (sub && !('values' in sub) ? toJson(sub as protobuf.Type, x, opts) : x);
    if (field.map) {
      if (Object.keys(v).length === 0) continue;
      out[field.name] = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, conv(x as Obj)]));
    } else if (field.repeated) {
      if ((v as unknown[]).length === 0) continue;
      out[field.name] = (v as Obj[]).map(conv);
    } else {
      out[field.name] = conv(v);
    }
  }
  return out;
}

/** "a.bC,d" (lowerCamelCase paths, comma-separated) to {paths: ['a.b_c', 'd']}, as protojson reads it. */
function parseFieldMask(s: string): Obj {
  const paths = s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  return { paths };
}

function parseTimestamp(s: string): Obj {
  const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) throw new Error(`invalid timestamp ${JSON.stringify(s)}`);
  return { seconds: Math.floor(ms / 1000), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

function parseDuration(s: string): Obj {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(s);
  if (!m) throw new Error(`invalid duration ${JSON.stringify(s)}: expected e.g. "1.5s"`);
  const sign = m[1] ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
}

/** As api-go: {metadata: {encoding, …}, data} of base64 strings, or a binary/null with no data. */
function isFullPayload(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const { metadata, data, ...rest } = v as Obj;
  if (Object.keys(rest).length > 0 || typeof metadata !== 'object' || metadata === null) return false;
  if (typeof metadata.encoding !== 'string') return false;
  const base64 = (x: unknown) => typeof x === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(x);
  if (!Object.values(metadata).every(base64)) return false;
  return data === undefined ? metadata.encoding === BINARY_NULL : base64(data);
}

/**
 * An enum value by its name, also in the older PascalCase without the prefix (Running for
 * WORKFLOW_EXECUTION_STATUS_RUNNING), which the official server still reads.
 */
function enumValue(en: protobuf.Enum, v: unknown): unknown {
  if (typeof v !== 'string' || en.values[v] !== undefined) return v;
  if (/^-?\d+$/.test(v)) return Number(v);
  const first = Object.keys(en.values)[0] ?? '';
  const prefix = first.endsWith('_UNSPECIFIED') ? first.slice(0, -'UNSPECIFIED'.length) : '';
  const screaming = prefix + v.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return en.values[screaming] !== undefined ? screaming : v;
}

/** Field of `type` named in JSON (lowerCamelCase json name or the proto name). */
export function fieldOf(type: protobuf.Type, key: string): protobuf.Field | undefined {
  return type.fields[key] ?? type.fields[camel(key)];
}

/** Protobuf JSON to an object protobufjs fromObject reads (enums by name, bytes in base64). */
export function fromJson(type: protobuf.Type, json: unknown, opts: JsonOptions): unknown {
  if (type.fullName === TIMESTAMP && typeof json === 'string') return parseTimestamp(json);
  if (type.fullName === DURATION && typeof json === 'string') return parseDuration(json);
  if (type.fullName === FIELD_MASK && typeof json === 'string') return parseFieldMask(json);
  if (WRAPPERS.has(type.fullName) && (typeof json !== 'object' || json === null)) return { value: json };
  if (type.fullName === PAYLOAD && opts.shorthand && !isFullPayload(json)) {
    if (json === null) return { metadata: { encoding: BINARY_NULL } };
    return { metadata: { encoding: JSON_PLAIN }, data: b64(JSON.stringify(json)) };
  }
  if (type.fullName === PAYLOADS && opts.shorthand && Array.isArray(json)) {
    return {
      payloads: json.map((p) =>
        fromJson(type.fields.payloads!.resolve().resolvedType as protobuf.Type, p, opts),
      ),
    };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`expected an object for ${type.fullName.slice(1)}`);
  }
  const out: Obj = {};
  for (const [key, v] of Object.entries(json)) {
    const field = fieldOf(type, key);
    if (!field) throw new Error(`unknown field "${key}" in ${type.fullName.slice(1)}`);
    if (v === null) continue;
    field.resolve();
    const sub = field.resolvedType;
    const conv = (x: unknown) =>
      sub && 'values' in sub
        ? enumValue(sub as protobuf.Enum, x)
        : sub
          ? fromJson(sub as protobuf.Type, x, opts)
          : x;
    if (field.map) out[field.name] = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, conv(x)]));
    else if (field.repeated) out[field.name] = (v as unknown[]).map(conv);
    else out[field.name] = conv(v);
  }
  return out;
}

/** A query-string or path value for a scalar field, typed as protobufjs fromObject expects. */
export function scalar(field: protobuf.Field, value: string): unknown {
  field.resolve();
  const sub = field.resolvedType;
  if (sub && !('values' in sub)) {
    if (sub.fullName === TIMESTAMP) return parseTimestamp(value);
    if (sub.fullName === DURATION) return parseDuration(value);
    if (sub.fullName === FIELD_MASK) return parseFieldMask(value);
    if (WRAPPERS.has(sub.fullName)) return { value: scalarType(sub.fields.value!.type, value) };
    throw new Error(`field ${field.name} is a message: set it in the body`);
  }
  if (sub) return enumValue(sub as protobuf.Enum, value);
  return scalarType(field.type, value);
}

function scalarType(type: string, value: string): unknown {
  if (type === 'bool') {
    if (value !== 'true' && value !== 'false') throw new Error(`expected true or false, got ${value}`);
    return value === 'true';
  }
  if (/^(u?int|s?fixed)(32|64)$|^sint(32|64)$|^double$|^float$/.test(type)) {
    const n = Number(value);
    if (value === '' || Number.isNaN(n)) throw new Error(`expected a number, got ${JSON.stringify(value)}`);
    return /64$/.test(type) ? value : n;
  }
  return value; // string, bytes (base64), enum (name or number as text)
}
