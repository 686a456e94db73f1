/**
 * FlatBuffers verifier, modelled on the C++ `flatbuffers::Verifier`: the JS library
 * reads whatever offsets a buffer holds, so every inbound frame passes through here
 * before a generated accessor touches it. Driven by the generated per-table spec
 * (generated/spec.ts), so it checks exactly what schemas/colo.fbs declares.
 *
 * Failures throw ColoError: FRAME_TOO_LARGE for size, UNSUPPORTED_FRAME for a union
 * type this build does not know, MALFORMED_FRAME for everything else.
 */
import { isUtf8 } from 'node:buffer';
import { ColoError } from '../core/errors';
import type { FieldSpec, WireSpec } from './spec-types';
import { WIRE_SPEC } from './generated/spec';

export interface VerifyLimits {
  /** Deepest table nesting (C++ default 64). */
  maxDepth: number;
  /** Most tables visited in one buffer; bounds work on DAG-shaped hostile buffers. */
  maxTables: number;
  /** Reject strings that are not valid UTF-8 (the C++ verifier does not check). */
  checkUtf8: boolean;
}

export const DEFAULT_VERIFY_LIMITS: Readonly<VerifyLimits> = Object.freeze({
  maxDepth: 64,
  maxTables: 10_000,
  checkUtf8: true,
});

/** FLATBUFFERS_MAX_BUFFER_SIZE: offsets are signed 32-bit. */
const MAX_BUFFER_SIZE = 0x7fffffff;

// Compiled form of the spec: tables linked by reference, no name lookups per frame.
interface Table {
  name: string;
  fields: Field[];
}
interface Field {
  label: string;
  /** The field's own name (`prompt`), reported as `field` of an INVALID_ARGUMENT. */
  name: string;
  slot: number;
  /** Inline size in the table: the scalar width, or 4 for any offset. */
  inline: number;
  required: boolean;
  spec: FieldSpec;
  table: Table | null;
  /** For union fields: type value → member table. */
  members: Map<number, Table> | null;
}

export class CompiledSpec {
  private readonly tables = new Map<string, Table>();
  readonly fileIdentifier: string;

  constructor(spec: WireSpec) {
    if (spec.fileIdentifier.length !== 4) throw new TypeError('file identifier must be 4 characters');
    this.fileIdentifier = spec.fileIdentifier;
    for (const name of Object.keys(spec.tables)) this.tables.set(name, { name, fields: [] });
    for (const [name, fields] of Object.entries(spec.tables)) {
      const table = this.table(name);
      for (const f of fields) {
        let target: Table | null = null;
        let members: Map<number, Table> | null = null;
        if (f.kind === 'table' || (f.kind === 'vector' && f.element === 'table'))
          target = this.table(f.table);
        if (f.kind === 'union') {
          const u = spec.unions[f.union];
          if (!u) throw new TypeError(`${name}.${f.name}: unknown union ${f.union}`);
          members = new Map(Object.entries(u).map(([v, t]) => [Number(v), this.table(t)]));
        }
        const inline = f.kind === 'scalar' || f.kind === 'utype' ? f.size : 4;
        table.fields.push({
          label: `${name}.${f.name}`,
          name: f.name,
          slot: f.slot,
          inline,
          required: f.required === true,
          spec: f,
          table: target,
          members,
        });
      }
    }
  }

  table(name: string): Table {
    const t = this.tables.get(name);
    if (!t) throw new TypeError(`wire spec has no table ${name}`);
    return t;
  }
}

import { invalidArgument } from '../core/errors';
const malformed = (what: string): ColoError => new ColoError('MALFORMED_FRAME', `malformed frame: ${what}`);

/** One verification pass; holds the buffer and counters (C++ Verifier's state). */
class Pass {
  private readonly view: DataView;
  private readonly size: number;
  private depth = 0;
  private tables = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: VerifyLimits,
    /** Bad UTF-8 is the request's fault (INVALID_ARGUMENT naming the field), not the frame's. */
    private readonly utf8IsFieldError = false,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.size = bytes.byteLength;
  }

  /** Verify(elem, len): [pos, pos + len) lies inside the buffer. */
  private inBounds(pos: number, len: number, what: string): void {
    if (pos < 0 || len < 0 || pos + len > this.size) throw malformed(`${what} out of bounds`);
  }

  /** VerifyAlignment: relative to the buffer start, as in C++. */
  private aligned(pos: number, align: number, what: string): void {
    if ((pos & (align - 1)) !== 0) throw malformed(`${what} misaligned`);
  }

  /** VerifyOffset: a uoffset at `pos`, non-zero, positive as signed, target in bounds. */
  offset(pos: number, what: string): number {
    this.aligned(pos, 4, what);
    this.inBounds(pos, 4, what);
    const o = this.view.getUint32(pos, true);
    if (o === 0 || o > MAX_BUFFER_SIZE) throw malformed(`${what} has an invalid offset`);
    const target = pos + o;
    this.inBounds(target, 1, what);
    return target;
  }

  /** VerifyTableStart + the generated per-field checks + EndTable. */
  table(pos: number, table: Table): void {
    // 1. Complexity: depth and table count (VerifyComplexity).
    if (++this.depth > this.limits.maxDepth) throw malformed('tables nested too deep');
    if (++this.tables > this.limits.maxTables) throw malformed('too many tables');
    // 2. The soffset to the vtable, aligned and in bounds.
    this.aligned(pos, 4, table.name);
    this.inBounds(pos, 4, table.name);
    const vt = pos - this.view.getInt32(pos, true);
    // 3. The vtable: its size field, even size, at least the two header entries, in bounds.
    this.aligned(vt, 2, `${table.name} vtable`);
    this.inBounds(vt, 4, `${table.name} vtable`);
    const vtSize = this.view.getUint16(vt, true);
    if ((vtSize & 1) !== 0 || vtSize < 4) throw malformed(`${table.name} vtable has a bad size`);
    this.inBounds(vt, vtSize, `${table.name} vtable`);
    // 4. The table's inline part, as the vtable declares it.
    const tableSize = this.view.getUint16(vt + 2, true);
    if (tableSize < 4) throw malformed(`${table.name} has a bad inline size`);
    this.inBounds(pos, tableSize, table.name);
    // 5. Every field the schema knows: present ones inside the table and aligned,
    //    required ones present, offsets followed to what they point to.
    for (const f of table.fields) {
      const fo = f.slot < vtSize ? this.view.getUint16(vt + f.slot, true) : 0;
      if (fo === 0) {
        if (f.required) throw malformed(`required field ${f.label} is missing`);
        // C++ accepts a union type without a value; a Colo frame always carries its body.
        if (f.spec.kind === 'union' && this.unionType(pos, vt, vtSize, f.spec.typeSlot) !== 0) {
          throw malformed(`${f.label} has a type but no value`);
        }
        continue;
      }
      if (fo < 4 || fo + f.inline > tableSize) throw malformed(`${f.label} lies outside its table`);
      const at = pos + fo;
      this.aligned(at, f.inline, f.label);
      this.field(f, at, pos, vt, vtSize);
    }
    this.depth--;
  }

  private field(f: Field, at: number, pos: number, vt: number, vtSize: number): void {
    const s = f.spec;
    switch (s.kind) {
      case 'scalar':
      case 'utype':
        return; // in bounds and aligned already
      case 'string':
        return this.string(this.offset(at, f.label), f.label, f.name);
      case 'table':
        return this.table(this.offset(at, f.label), f.table!);
      case 'vector':
        return this.vector(this.offset(at, f.label), f);
      case 'union': {
        // Union type/value consistency: both present or both absent.
        const type = this.unionType(pos, vt, vtSize, s.typeSlot);
        if (type === 0) throw malformed(`${f.label} has a value but type NONE`);
        const member = f.members!.get(type);
        if (!member)
          throw new ColoError('UNSUPPORTED_FRAME', `unsupported ${s.union} type ${type} in ${f.label}`);
        return this.table(this.offset(at, f.label), member);
      }
    }
  }

  /** The union's type byte; its field was bounds-checked as a scalar already. */
  private unionType(pos: number, vt: number, vtSize: number, typeSlot: number): number {
    const off = typeSlot < vtSize ? this.view.getUint16(vt + typeSlot, true) : 0;
    return off === 0 ? 0 : this.view.getUint8(pos + off);
  }

  /** VerifyString: length in bounds, NUL terminator, optionally valid UTF-8. */
  string(pos: number, what: string, field?: string): void {
    this.aligned(pos, 4, what);
    this.inBounds(pos, 4, what);
    const len = this.view.getUint32(pos, true);
    const start = pos + 4;
    if (len > this.size - start - 1) throw malformed(`${what} string out of bounds`);
    if (this.bytes[start + len] !== 0) throw malformed(`${what} string is not NUL-terminated`);
    if (this.limits.checkUtf8 && len > 0 && !isUtf8(this.bytes.subarray(start, start + len))) {
      // Well-formed frame, bad value: the same code and field as the HTTP API gives.
      if (this.utf8IsFieldError && field !== undefined) throw invalidArgument(field, 'is not valid UTF-8');
      throw malformed(`${what} string is not valid UTF-8`);
    }
  }

  /** VerifyVector (+ its elements for strings and tables). */
  private vector(pos: number, f: Field): void {
    const s = f.spec as Extract<FieldSpec, { kind: 'vector' }>;
    const elem = s.element === 'scalar' ? s.size : 4;
    this.aligned(pos, 4, f.label);
    this.inBounds(pos, 4, f.label);
    const n = this.view.getUint32(pos, true);
    const start = pos + 4;
    // Division, not n * elem, so a huge count cannot overflow the check.
    if (n > Math.floor((this.size - start) / elem)) throw malformed(`${f.label} vector out of bounds`);
    if (s.element === 'scalar') return;
    for (let i = 0; i < n; i++) {
      const target = this.offset(start + 4 * i, f.label);
      if (s.element === 'string') this.string(target, f.label, f.name);
      else this.table(target, f.table!);
    }
  }
}

/**
 * Verifies a finished buffer whose root is `root` (VerifyBuffer with identifier):
 * size limit, header, file identifier, then the whole object graph. Returns the
 * root table's position, ready for the generated accessors.
 */
export function verifyBuffer(
  bytes: Uint8Array,
  spec: CompiledSpec,
  root: string,
  maxBytes: number,
  limits: VerifyLimits = DEFAULT_VERIFY_LIMITS,
): number {
  const size = bytes.byteLength;
  // 1. Size: the configured maximum, and what 32-bit offsets can address.
  if (size > maxBytes || size > MAX_BUFFER_SIZE) {
    throw new ColoError(
      'FRAME_TOO_LARGE',
      `frame of ${size} bytes exceeds the limit of ${Math.min(maxBytes, MAX_BUFFER_SIZE)}`,
    );
  }
  // 2. Header: root uoffset + 4-byte file identifier.
  if (size < 8) throw malformed(`${size} bytes is shorter than the 8-byte header`);
  const id = spec.fileIdentifier;
  for (let i = 0; i < 4; i++) {
    if (bytes[4 + i] !== id.charCodeAt(i)) {
      throw new ColoError(
        'MALFORMED_FRAME',
        `malformed frame: file identifier is not "${id}" (not a Colo frame)`,
      );
    }
  }
  // 3. Root offset, then the root table and everything it reaches.
  const pass = new Pass(bytes, limits, root === 'ClientFrame');
  const pos = pass.offset(0, 'root');
  pass.table(pos, spec.table(root));
  return pos;
}

/** The spec of schemas/colo.fbs, compiled once. */
export const COLO_SPEC = new CompiledSpec(WIRE_SPEC);

export const verifyClientFrame = (bytes: Uint8Array, maxBytes: number, limits?: VerifyLimits): number =>
  verifyBuffer(bytes, COLO_SPEC, 'ClientFrame', maxBytes, limits);

export const verifyServerFrame = (bytes: Uint8Array, maxBytes: number, limits?: VerifyLimits): number =>
  verifyBuffer(bytes, COLO_SPEC, 'ServerFrame', maxBytes, limits);
