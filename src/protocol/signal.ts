/**
 * The typed trading signal a Result frame carries (table Signal in schemas/colo.fbs).
 * Defined in src/core/types.ts so every route can carry it; re-exported here for
 * protocol users.
 */
export type { Signal, SignalDirection } from '../core/types';
