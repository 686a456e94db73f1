/**
 * Shape of the per-table wire spec that drives the verifier. The spec itself is
 * generated from schemas/colo.fbs (src/protocol/generated/spec.ts, by
 * scripts/gen-fbs-spec.mjs from flatc's binary schema), so it cannot drift from it.
 */

interface FieldBase {
  /** Wire name, as written in the .fbs (snake_case). */
  name: string;
  /** Field id (declaration order; a union takes two ids). */
  id: number;
  /** Byte offset of this field's entry in the vtable: 4 + 2 * id. */
  slot: number;
  required?: boolean;
}

export type FieldSpec =
  | (FieldBase & { kind: 'scalar'; size: number })
  | (FieldBase & { kind: 'utype'; size: number })
  | (FieldBase & { kind: 'string' })
  | (FieldBase & { kind: 'table'; table: string })
  | (FieldBase & { kind: 'union'; union: string; typeSlot: number })
  | (FieldBase & { kind: 'vector'; element: 'scalar'; size: number })
  | (FieldBase & { kind: 'vector'; element: 'string' })
  | (FieldBase & { kind: 'vector'; element: 'table'; table: string });

export interface WireSpec {
  fileIdentifier: string;
  /** Table name → its fields, ordered by id. */
  tables: Record<string, readonly FieldSpec[]>;
  /** Union name → (type value → member table name). Value 0 (NONE) is never listed. */
  unions: Record<string, Record<number, string>>;
}
