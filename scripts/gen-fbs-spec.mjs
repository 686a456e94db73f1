// Turns flatc's binary schema (colo.bfbs, from `flatc -b --schema`) into the compact
// per-table spec that drives src/protocol/verify.ts. Reading flatc's own parse of the
// .fbs (instead of parsing the .fbs here) means the verifier cannot drift from the
// schema: field ids, vtable slots, types and `required` all come from flatc.
//
// Usage: node scripts/gen-fbs-spec.mjs <colo.bfbs> <out.ts>
//
// The layout of the .bfbs is reflection/reflection.fbs in the FlatBuffers repo. Only
// fields that exist since flatc 1.12 are read, so any flatc from 2.0.8 on works.
import { readFileSync, writeFileSync } from 'node:fs';
import * as flatbuffers from 'flatbuffers';

const [bfbsPath, outPath] = process.argv.slice(2);
if (!bfbsPath || !outPath) {
  console.error('usage: node scripts/gen-fbs-spec.mjs <schema.bfbs> <out.ts>');
  process.exit(2);
}

const bb = new flatbuffers.ByteBuffer(new Uint8Array(readFileSync(bfbsPath)));
if (!bb.__has_identifier('BFBS')) throw new Error(`${bfbsPath}: not a binary schema (identifier BFBS)`);

// reflection.BaseType
const BT = {
  None: 0,
  UType: 1,
  Bool: 2,
  Byte: 3,
  UByte: 4,
  Short: 5,
  UShort: 6,
  Int: 7,
  UInt: 8,
  Long: 9,
  ULong: 10,
  Float: 11,
  Double: 12,
  String: 13,
  Vector: 14,
  Obj: 15,
  Union: 16,
  Array: 17,
};
const BT_NAME = Object.fromEntries(Object.entries(BT).map(([k, v]) => [v, k]));
const SCALAR_SIZE = { 1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2, 7: 4, 8: 4, 9: 8, 10: 8, 11: 4, 12: 8 };

// Minimal table reader over reflection tables: field(id) -> absolute position or 0.
const slot = (t, id) => bb.__offset(t, 4 + 2 * id);
const str = (t, id) => (slot(t, id) ? bb.__string(t + slot(t, id)) : null);
const sub = (t, id) => (slot(t, id) ? bb.__indirect(t + slot(t, id)) : 0);
const i8 = (t, id, d) => (slot(t, id) ? bb.readInt8(t + slot(t, id)) : d);
const u16 = (t, id, d) => (slot(t, id) ? bb.readUint16(t + slot(t, id)) : d);
const i32 = (t, id, d) => (slot(t, id) ? bb.readInt32(t + slot(t, id)) : d);
const i64 = (t, id, d) => (slot(t, id) ? Number(bb.readInt64(t + slot(t, id))) : d);
const bool = (t, id) => i8(t, id, 0) !== 0;
const vec = (t, id) => {
  const o = slot(t, id);
  if (!o) return [];
  const start = bb.__vector(t + o);
  const n = bb.__vector_len(t + o);
  return Array.from({ length: n }, (_, i) => bb.__indirect(start + 4 * i));
};

const root = bb.readInt32(bb.position()) + bb.position();
// Schema: objects 0, enums 1, file_ident 2, file_ext 3, root_table 4
const objects = vec(root, 0);
const enums = vec(root, 1);
const fileIdent = str(root, 2) ?? '';
const shortName = (n) => n.slice(n.lastIndexOf('.') + 1);
const objName = (i) => shortName(str(objects[i], 0));

// Type: base_type 0, element 1, index 2
const readType = (t) => ({ base: i8(t, 0, 0), element: i8(t, 1, 0), index: i32(t, 2, -1) });

function fieldSpec(owner, f) {
  // Field: name 0, type 1, id 2, offset 3, deprecated 6, required 7
  const name = str(f, 0);
  const type = readType(sub(f, 1));
  const id = u16(f, 2, 0);
  const spec = { name, id, slot: u16(f, 3, 0), required: bool(f, 7) };
  const unsupported = () => {
    throw new Error(
      `${owner}.${name}: type ${BT_NAME[type.base]}/${BT_NAME[type.element]} is not supported by src/protocol/verify.ts; extend the verifier first`,
    );
  };
  switch (type.base) {
    case BT.String:
      return { ...spec, kind: 'string' };
    case BT.Obj:
      if (bool(objects[type.index], 2)) unsupported(); // structs
      return { ...spec, kind: 'table', table: objName(type.index) };
    case BT.UType:
      return { ...spec, kind: 'utype', size: 1 };
    case BT.Union:
      return { ...spec, kind: 'union', union: shortName(str(enums[type.index], 0)) };
    case BT.Vector:
      if (type.element === BT.String) return { ...spec, kind: 'vector', element: 'string' };
      if (type.element === BT.Obj && !bool(objects[type.index], 2))
        return { ...spec, kind: 'vector', element: 'table', table: objName(type.index) };
      if (SCALAR_SIZE[type.element])
        return { ...spec, kind: 'vector', element: 'scalar', size: SCALAR_SIZE[type.element] };
      return unsupported();
    default:
      if (SCALAR_SIZE[type.base]) return { ...spec, kind: 'scalar', size: SCALAR_SIZE[type.base] };
      return unsupported();
  }
}

const tables = {};
for (const o of objects) {
  const name = shortName(str(o, 0));
  if (bool(o, 2)) throw new Error(`struct ${name}: structs are not supported by src/protocol/verify.ts yet`);
  const fields = vec(o, 1)
    .filter((f) => !bool(f, 6)) // deprecated fields are skipped, as the C++ verifier does
    .map((f) => fieldSpec(name, f))
    .sort((a, b) => a.id - b.id);
  for (const f of fields) {
    if (f.kind !== 'union') continue;
    const t = fields.find((x) => x.id === f.id - 1);
    if (!t || t.kind !== 'utype') throw new Error(`${name}.${f.name}: union without its _type field`);
    f.typeSlot = t.slot;
  }
  tables[name] = fields;
}

const unions = {};
for (const e of enums) {
  // Enum: name 0, values 1, is_union 2. EnumVal: name 0, value 1, union_type 3
  if (!bool(e, 2)) continue;
  const members = {};
  for (const v of vec(e, 1)) {
    const value = i64(v, 1, 0);
    if (value === 0) continue; // NONE
    const t = sub(v, 3);
    members[value] = t ? objName(readType(t).index) : shortName(str(v, 0));
  }
  unions[shortName(str(e, 0))] = members;
}

const q = (s) => `'${s}'`;
const fieldLine = (f) => {
  const parts = [`name: ${q(f.name)}`, `id: ${f.id}`, `slot: ${f.slot}`, `kind: ${q(f.kind)}`];
  if (f.element) parts.push(`element: ${q(f.element)}`);
  if (f.size) parts.push(`size: ${f.size}`);
  if (f.table) parts.push(`table: ${q(f.table)}`);
  if (f.union) parts.push(`union: ${q(f.union)}, typeSlot: ${f.typeSlot}`);
  if (f.required) parts.push('required: true');
  return `      { ${parts.join(', ')} },`;
};

const out = [
  '// automatically generated by scripts/gen-fbs-spec.mjs from schemas/colo.fbs (through flatc --bfbs), do not modify',
  '',
  "import type { WireSpec } from '../spec-types';",
  '',
  'export const WIRE_SPEC: WireSpec = {',
  `  fileIdentifier: ${q(fileIdent)},`,
  '  tables: {',
  ...Object.keys(tables)
    .sort()
    .flatMap((name) => [`    ${name}: [`, ...tables[name].map(fieldLine), '    ],']),
  '  },',
  '  unions: {',
  ...Object.keys(unions)
    .sort()
    .map(
      (name) =>
        `    ${name}: { ${Object.entries(unions[name])
          .map(([v, t]) => `${v}: ${q(t)}`)
          .join(', ')} },`,
    ),
  '  },',
  '};',
  '',
];
writeFileSync(outPath, out.join('\n'));
