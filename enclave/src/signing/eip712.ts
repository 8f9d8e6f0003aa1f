/**
 * EIP-712 typed structured data hashing, implemented from the EIP and checked
 * against its published example and against viem (enclave/test). Strict: an
 * unknown type, a missing field, an out-of-range number or a malformed value
 * is TYPED_DATA_INVALID, never guessed. Bounded: the JSON size, the number
 * of types and fields, the nesting depth, array lengths and the total number
 * of values encoded are capped, and each type's encoding is computed once
 * per call, so a hostile request cannot keep the enclave busy.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { fromHex } from '@enclave-wallet/proto/bytes';

type Field = { name: string; type: string };
type Types = Record<string, Field[]>;

const invalid = (why: string): EnclaveWalletError => new EnclaveWalletError('TYPED_DATA_INVALID', `the typed data is not valid: ${why}`);
const te = new TextEncoder();
const MAX_DEPTH = 16;
/** Caps on what one typed-data request may ask the enclave to hash. */
export const EIP712_LIMITS = Object.freeze({ jsonBytes: 256 * 1024, types: 64, fieldsPerType: 64, arrayItems: 1024, values: 20_000 });

/** Per-call state: the types, the type hashes computed so far, and the values still allowed. */
interface Ctx {
  types: Types;
  typeHashes: Map<string, Uint8Array>;
  budget: number;
}

const DOMAIN_FIELDS: Field[] = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
  { name: 'salt', type: 'bytes32' },
];

function word(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function toBigInt(value: unknown, type: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalid(`${type} value is not a safe integer`);
    return BigInt(value);
  }
  if (typeof value === 'string' && /^-?(0|[1-9][0-9]*)$|^0x[0-9a-fA-F]+$/.test(value)) return BigInt(value);
  if (typeof value === 'bigint') return value;
  throw invalid(`${type} value must be an integer (number, decimal or 0x-hex string)`);
}

function hexBytes(value: unknown, type: string): Uint8Array {
  if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(value)) throw invalid(`${type} value must be 0x-hex bytes`);
  return fromHex(value, { prefix: true });
}

/** Struct types a type refers to, itself first, the rest sorted (EIP-712 encodeType). */
function dependencies(types: Types, primary: string, found: Set<string> = new Set()): Set<string> {
  const base = primary.replace(/(\[\d*\])+$/, '');
  if (found.has(base) || !types[base]) return found;
  found.add(base);
  for (const f of types[base]!) dependencies(types, f.type, found);
  return found;
}

export function encodeType(types: Types, primary: string): string {
  const [first, ...rest] = [...dependencies(types, primary)];
  return [first!, ...rest.sort()].map((t) => `${t}(${types[t]!.map((f) => `${f.type} ${f.name}`).join(',')})`).join('');
}

function encodeValue(ctx: Ctx, type: string, value: unknown, depth: number): Uint8Array {
  if (depth > MAX_DEPTH) throw invalid('nested too deeply');
  if (--ctx.budget < 0) throw invalid(`more than ${EIP712_LIMITS.values} values`);
  const array = /^(.*)\[(\d*)\]$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) throw invalid(`${type} value must be an array`);
    if (value.length > EIP712_LIMITS.arrayItems) throw invalid(`arrays hold at most ${EIP712_LIMITS.arrayItems} items`);
    if (array[2] !== '' && value.length !== Number(array[2])) throw invalid(`${type} value must have ${array[2]} items`);
    return keccak_256(concatBytes(...value.map((v) => encodeValue(ctx, array[1]!, v, depth + 1))));
  }
  if (ctx.types[type]) return structHash(ctx, type, value, depth + 1);
  if (type === 'string') {
    if (typeof value !== 'string') throw invalid('string value must be a string');
    return keccak_256(te.encode(value));
  }
  if (type === 'bytes') return keccak_256(hexBytes(value, type));
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw invalid('bool value must be true or false');
    return word(value ? 1n : 0n);
  }
  if (type === 'address') {
    if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw invalid('address value must be 20 bytes of 0x-hex');
    return word(BigInt(value));
  }
  let m = /^bytes(\d+)$/.exec(type);
  if (m) {
    const size = Number(m[1]);
    if (size < 1 || size > 32) throw invalid(`unknown type ${type}`);
    const b = hexBytes(value, type);
    if (b.length !== size) throw invalid(`${type} value must be ${size} bytes`);
    const out = new Uint8Array(32);
    out.set(b, 0);
    return out;
  }
  m = /^(u?)int(\d+)$/.exec(type);
  if (m) {
    const bits = Number(m[2]);
    if (bits < 8 || bits > 256 || bits % 8 !== 0) throw invalid(`unknown type ${type}`);
    const n = toBigInt(value, type);
    if (m[1] === 'u') {
      if (n < 0n || n >= 1n << BigInt(bits)) throw invalid(`${type} value out of range`);
      return word(n);
    }
    const limit = 1n << BigInt(bits - 1);
    if (n < -limit || n >= limit) throw invalid(`${type} value out of range`);
    return word(n < 0n ? (1n << 256n) + n : n);
  }
  throw invalid(`unknown type ${type}`);
}

function structHash(ctx: Ctx, type: string, value: unknown, depth: number): Uint8Array {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${type} value must be an object`);
  const v = value as Record<string, unknown>;
  const fields = ctx.types[type]!;
  const names = new Set(fields.map((f) => f.name));
  for (const key of Object.keys(v)) if (!names.has(key)) throw invalid(`${type} has no field ${key}`);
  let typeHash = ctx.typeHashes.get(type);
  if (!typeHash) {
    typeHash = keccak_256(te.encode(encodeType(ctx.types, type)));
    ctx.typeHashes.set(type, typeHash);
  }
  const parts: Uint8Array[] = [typeHash];
  for (const f of fields) {
    if (!Object.prototype.hasOwnProperty.call(v, f.name)) throw invalid(`${type}.${f.name} is missing`);
    parts.push(encodeValue(ctx, f.type, v[f.name], depth));
  }
  return keccak_256(concatBytes(...parts));
}

function checkTypes(raw: unknown): Types {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('types must be an object');
  const types: Types = Object.create(null) as Types;
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > EIP712_LIMITS.types) throw invalid(`at most ${EIP712_LIMITS.types} types`);
  for (const [name, fields] of entries) {
    if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name)) throw invalid(`bad type name ${name}`);
    // A struct named like an atomic type would take its place in every field of that type (viem refuses it too).
    if (/^(address|bool|string|bytes\d*|u?int\d*)$/.test(name)) throw invalid(`a struct cannot be named ${name}: that is a built-in type`);
    if (!Array.isArray(fields)) throw invalid(`fields of ${name} must be a list`);
    if (fields.length > EIP712_LIMITS.fieldsPerType) throw invalid(`at most ${EIP712_LIMITS.fieldsPerType} fields per type`);
    const seen = new Set<string>();
    types[name] = fields.map((f: unknown) => {
      const field = f as Field;
      if (typeof field?.name !== 'string' || typeof field?.type !== 'string' || field.name.length > 256 || field.type.length > 256)
        throw invalid(`fields of ${name} need a name and a type`);
      if (seen.has(field.name)) throw invalid(`${name}.${field.name} is declared twice`);
      seen.add(field.name);
      return { name: field.name, type: field.type };
    });
  }
  return types;
}

/** The EIP-712 digest of `{ domain, types, primaryType, message }` given as JSON text. */
export function typedDataDigest(json: string): Uint8Array {
  // Bytes of UTF-8, not UTF-16 units (json.length): the cap is on what crosses the wire.
  if (Buffer.byteLength(json, 'utf8') > EIP712_LIMITS.jsonBytes) throw invalid(`larger than ${EIP712_LIMITS.jsonBytes} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid('not an object');
  const t = parsed as Record<string, unknown>;
  const types = checkTypes(t.types);
  if (typeof t.primaryType !== 'string') throw invalid('primaryType is required');
  if (typeof t.domain !== 'object' || t.domain === null || Array.isArray(t.domain)) throw invalid('domain is required');
  const domain = t.domain as Record<string, unknown>;
  // EIP712Domain: as declared, or derived from the fields the domain carries.
  types.EIP712Domain ??= DOMAIN_FIELDS.filter((f) => domain[f.name] !== undefined);
  if (!types[t.primaryType]) throw invalid(`primaryType ${t.primaryType} is not among types`);
  const ctx: Ctx = { types, typeHashes: new Map(), budget: EIP712_LIMITS.values };
  const domainHash = structHash(ctx, 'EIP712Domain', domain, 0);
  const prefix = Uint8Array.of(0x19, 0x01);
  if (t.primaryType === 'EIP712Domain') return keccak_256(concatBytes(prefix, domainHash));
  return keccak_256(concatBytes(prefix, domainHash, structHash(ctx, t.primaryType, t.message, 0)));
}
