/**
 * Maps between the core's string unions and the generated wire enums. Error codes map
 * by name (test/unit/protocol-enums.test.ts proves both lists are identical, in order),
 * so appending a code in src/core/errors.ts and schemas/colo.fbs is the whole change.
 */
import { ERROR_CODES, type ErrorCode } from '../core/errors';
import type { FinishReason, Role, RouteKind } from '../core/types';
import * as fb from './generated/colo_generated';

const wireEnumNames = (e: object): string[] =>
  Object.entries(e)
    .filter(([, v]) => typeof v === 'number')
    .sort(([, a], [, b]) => (a as number) - (b as number))
    .map(([k]) => k);

/** ErrorCode names of the generated wire enum, in value order. */
export const WIRE_ERROR_CODE_NAMES: readonly string[] = Object.freeze(wireEnumNames(fb.ErrorCode));

const byName = fb.ErrorCode as unknown as Record<string, number | undefined>;
const TO_WIRE = new Map<ErrorCode, number>(ERROR_CODES.map((c) => [c, byName[c] ?? fb.ErrorCode.INTERNAL]));
const FROM_WIRE = new Map<number, ErrorCode>();
for (const c of ERROR_CODES) {
  const v = byName[c];
  if (v !== undefined) FROM_WIRE.set(v, c);
}

export const errorCodeToWire = (code: ErrorCode): fb.ErrorCode => TO_WIRE.get(code) ?? fb.ErrorCode.INTERNAL;

/** A code this build does not know (a newer server) reads as INTERNAL. */
export const errorCodeFromWire = (v: number): ErrorCode => FROM_WIRE.get(v) ?? 'INTERNAL';

const ROUTE_KINDS: readonly RouteKind[] = ['local', 'remote', 'cache'];
const FINISH_REASONS: readonly FinishReason[] = ['stop', 'length', 'cancelled', 'deadline', 'error'];
const ROLES: readonly Role[] = ['system', 'user', 'assistant'];

// The wire values are the positions in these lists; the enum test checks that.
export const routeKindToWire = (k: RouteKind): fb.RouteKind => ROUTE_KINDS.indexOf(k) as fb.RouteKind;
export const routeKindFromWire = (v: number): RouteKind | undefined => ROUTE_KINDS[v];
export const finishReasonToWire = (r: FinishReason): fb.FinishReason =>
  FINISH_REASONS.indexOf(r) as fb.FinishReason;
export const finishReasonFromWire = (v: number): FinishReason | undefined => FINISH_REASONS[v];
export const roleToWire = (r: Role): fb.Role => ROLES.indexOf(r) as fb.Role;
export const roleFromWire = (v: number): Role | undefined => ROLES[v];

export const WIRE_ENUM_ORDER = Object.freeze({
  routeKinds: ROUTE_KINDS,
  finishReasons: FINISH_REASONS,
  roles: ROLES,
});
