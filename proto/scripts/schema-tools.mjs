// Tools over the schema by reflection (protobufjs parses the .proto itself):
// the field-number snapshot kept in schema/schema.lock.json, and a
// deterministic sample of every message for the golden encodings.
import protobuf from 'protobufjs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROTO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_FILE = join(PROTO_DIR, 'schema', 'enclave_wallet.proto');
export const LOCK_FILE = join(PROTO_DIR, 'schema', 'schema.lock.json');
export const GOLDEN_FILE = join(PROTO_DIR, 'schema', 'golden.json');
export const PACKAGE = 'enclavewallet.v1';

/** Parses a .proto file into a resolved protobufjs Root. */
export function loadSchema(file = SCHEMA_FILE) {
  const root = new protobuf.Root();
  root.loadSync(file, { keepCase: false, alternateCommentMode: true });
  root.resolveAll();
  return root;
}

/** Every message and enum type of the package, by full name, sorted. */
export function allTypes(root) {
  const out = { messages: [], enums: [] };
  const walk = (ns) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        // Map entry types are synthetic; skip them.
        out.messages.push(nested);
        walk(nested);
      } else if (nested instanceof protobuf.Enum) out.enums.push(nested);
      else if (nested instanceof protobuf.Namespace) walk(nested);
    }
  };
  walk(root.lookup(PACKAGE));
  const byName = (a, b) => (a.fullName < b.fullName ? -1 : a.fullName > b.fullName ? 1 : 0);
  out.messages.sort(byName);
  out.enums.sort(byName);
  return out;
}

const name = (t) => t.fullName.replace(/^\./, '');

/** The number → (name, type) snapshot of every field and enum value. */
export function snapshot(root) {
  const { messages, enums } = allTypes(root);
  const snap = { messages: {}, enums: {} };
  for (const m of messages) {
    const fields = {};
    for (const f of m.fieldsArray) {
      const type = f.resolvedType ? name(f.resolvedType) : f.type;
      fields[f.id] = {
        name: f.name,
        type: f.map ? `map<${f.keyType},${type}>` : type,
        rule: f.map ? 'map' : f.repeated ? 'repeated' : 'singular',
        ...(f.partOf ? { oneof: f.partOf.name } : {}),
      };
    }
    snap.messages[name(m)] = { fields, reserved: (m.reserved ?? []).map((r) => (Array.isArray(r) ? `${r[0]}-${r[1]}` : r)) };
  }
  for (const e of enums) {
    const values = {};
    for (const [k, v] of Object.entries(e.values)) values[v] = k;
    snap.enums[name(e)] = { values, reserved: (e.reserved ?? []).map((r) => (Array.isArray(r) ? `${r[0]}-${r[1]}` : r)) };
  }
  return snap;
}

/** True when a field number is covered by a message's `reserved` list. */
export function isReserved(reserved, id) {
  return reserved.some((r) => {
    if (typeof r === 'number') return r === id;
    const m = /^(\d+)-(\d+)$/.exec(r);
    return m ? id >= Number(m[1]) && id <= Number(m[2]) : false;
  });
}

/**
 * Compares the current schema with the lock. Returns a list of violations:
 * a locked number now used with another name, type or rule; a locked number
 * that disappeared without being reserved; a number missing from the lock.
 */
export function compareWithLock(current, lock) {
  const problems = [];
  for (const [msg, locked] of Object.entries(lock.messages)) {
    const now = current.messages[msg];
    if (!now) {
      problems.push(`message ${msg} was removed (keep it, or keep it in the lock as removed)`);
      continue;
    }
    for (const [id, f] of Object.entries(locked.fields)) {
      const cur = now.fields[id];
      if (!cur) {
        if (!isReserved(now.reserved, Number(id)) || !now.reserved.includes(f.name)) {
          problems.push(`${msg}: field ${id} (${f.name}) was removed without reserving its number and name`);
        }
      } else if (cur.name !== f.name || cur.type !== f.type || cur.rule !== f.rule) {
        problems.push(`${msg}: field ${id} was ${f.rule} ${f.type} ${f.name}, is now ${cur.rule} ${cur.type} ${cur.name}`);
      }
    }
    for (const [id, cur] of Object.entries(now.fields)) {
      if (!locked.fields[id]) {
        if (isReserved(locked.reserved, Number(id))) problems.push(`${msg}: field ${id} (${cur.name}) reuses a reserved number`);
        else problems.push(`${msg}: field ${id} (${cur.name}) is not in the lock; run npm run proto:lock`);
      }
    }
  }
  for (const msg of Object.keys(current.messages)) {
    if (!lock.messages[msg]) problems.push(`message ${msg} is not in the lock; run npm run proto:lock`);
  }
  for (const [en, locked] of Object.entries(lock.enums)) {
    const now = current.enums[en];
    if (!now) {
      problems.push(`enum ${en} was removed`);
      continue;
    }
    for (const [num, valueName] of Object.entries(locked.values)) {
      if (now.values[num] === undefined) {
        if (!isReserved(now.reserved, Number(num))) problems.push(`${en}: value ${num} (${valueName}) was removed without reserving it`);
      } else if (now.values[num] !== valueName) {
        problems.push(`${en}: value ${num} was ${valueName}, is now ${now.values[num]}`);
      }
    }
    for (const [num, valueName] of Object.entries(now.values)) {
      if (locked.values[num] === undefined) problems.push(`${en}: value ${num} (${valueName}) is not in the lock; run npm run proto:lock`);
    }
  }
  for (const en of Object.keys(current.enums)) {
    if (!lock.enums[en]) problems.push(`enum ${en} is not in the lock; run npm run proto:lock`);
  }
  return problems;
}

/**
 * Adds what is new in `current` to `lock`, refusing if anything locked
 * changed (that must be fixed in the schema, not in the lock).
 */
export function extendLock(current, lock) {
  const problems = compareWithLock(current, lock).filter((p) => !p.includes('is not in the lock'));
  if (problems.length > 0) throw new Error(`the schema breaks the lock:\n  ${problems.join('\n  ')}`);
  const next = structuredClone(lock);
  for (const [msg, m] of Object.entries(current.messages)) {
    next.messages[msg] ??= { fields: {}, reserved: [] };
    for (const [id, f] of Object.entries(m.fields)) next.messages[msg].fields[id] ??= f;
    next.messages[msg].reserved = m.reserved;
  }
  for (const [en, e] of Object.entries(current.enums)) {
    next.enums[en] ??= { values: {}, reserved: [] };
    for (const [num, v] of Object.entries(e.values)) next.enums[en].values[num] ??= v;
    next.enums[en].reserved = e.reserved;
  }
  return next;
}

/**
 * The golden cases of a message: `Type` with the first member of each oneof,
 * plus `Type#member` for every other member of a oneof.
 */
export function goldenCases(type) {
  const key = type.fullName.replace(/^\./, '');
  const cases = [[key, sampleObject(type)]];
  for (const oneof of type.oneofsArray) {
    for (const member of oneof.fieldsArray.slice(1)) cases.push([`${key}#${member.name}`, sampleObject(type, 0, { [oneof.name]: member.name })]);
  }
  return cases;
}

/**
 * A deterministic, fully populated sample of a message as a plain JSON object
 * (the form of toObject with bytes as base64, enums as names): every field
 * set, the first member of each oneof, two items per repeated field, one map
 * entry. Nested messages are sampled down to a small depth.
 */
export function sampleObject(type, depth = 0, choose = {}) {
  const obj = {};
  const oneofTaken = new Set();
  for (const f of type.fieldsArray) {
    if (f.partOf) {
      const wanted = choose[f.partOf.name];
      if (wanted !== undefined ? wanted !== f.name : oneofTaken.has(f.partOf.name)) continue;
      oneofTaken.add(f.partOf.name);
    }
    const one = (k) => sampleValue(f, k, depth);
    if (f.map) obj[f.name] = { [f.keyType === 'string' ? 'k' : '1']: one(0) };
    else if (f.repeated) obj[f.name] = [one(0), one(1)];
    else obj[f.name] = one(0);
  }
  return obj;
}

function sampleValue(field, k, depth) {
  const t = field.resolvedType;
  if (t instanceof protobuf.Enum) {
    const names = Object.keys(t.values).filter((n) => t.values[n] !== 0);
    return names[k % names.length];
  }
  if (t instanceof protobuf.Type) return depth >= 3 ? {} : sampleObject(t, depth + 1);
  switch (field.type) {
    case 'string':
      return `${field.name}-${k + 1}`;
    case 'bytes':
      return Buffer.from(Array.from({ length: 4 }, (_, i) => (field.id * 16 + i + k) & 0xff)).toString('base64');
    case 'bool':
      return true;
    case 'uint64':
    case 'int64':
    case 'fixed64':
      return 1_700_000_000_000 + field.id + k;
    default:
      return field.id * 7 + k;
  }
}
