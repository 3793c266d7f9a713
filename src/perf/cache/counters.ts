/**
 * Operation counts kept as plain numbers on the hot path and copied into Prometheus only when
 * scraped: a labelled prom-client increment costs more than an L1 hit itself.
 */

/** [layer, op, result] for each counter slot, in slot order. */
export const SLOTS = [
  ['l1', 'get', 'hit'],
  ['l1', 'get', 'miss'],
  ['l1', 'get', 'stale'],
  ['l2', 'get', 'hit'],
  ['l2', 'get', 'miss'],
  ['l2', 'get', 'error'],
  ['l1', 'set', 'ok'],
  ['l2', 'set', 'ok'],
  ['l2', 'set', 'error'],
  ['l1', 'delete', 'ok'],
  ['l2', 'delete', 'ok'],
  ['l2', 'delete', 'error'],
  ['l1', 'clear', 'ok'],
  ['l2', 'clear', 'ok'],
  ['l2', 'clear', 'error'],
  ['l1', 'evict', 'ok'],
  ['factory', 'run', 'ok'],
  ['factory', 'run', 'error'],
  ['factory', 'run', 'timeout'],
  ['bus', 'publish', 'ok'],
  ['bus', 'publish', 'error'],
  ['bus', 'receive', 'ok'],
  ['l2', 'breaker', 'open'],
  ['l2', 'breaker', 'skip'],
  ['l2', 'lock', 'acquired'],
  ['l2', 'lock', 'waited'],
] as const;

export const L1_HIT = 0;
export const L1_MISS = 1;
export const L1_STALE = 2;
export const L2_HIT = 3;
export const L2_MISS = 4;
export const L2_GET_ERROR = 5;
export const L1_SET = 6;
export const L2_SET = 7;
export const L2_SET_ERROR = 8;
export const L1_DELETE = 9;
export const L2_DELETE = 10;
export const L2_DELETE_ERROR = 11;
export const L1_CLEAR = 12;
export const L2_CLEAR = 13;
export const L2_CLEAR_ERROR = 14;
export const L1_EVICT = 15;
export const FACTORY_OK = 16;
export const FACTORY_ERROR = 17;
export const FACTORY_TIMEOUT = 18;
export const BUS_PUBLISH = 19;
export const BUS_PUBLISH_ERROR = 20;
export const BUS_RECEIVE = 21;
export const BREAKER_OPEN = 22;
export const BREAKER_SKIP = 23;
export const LOCK_ACQUIRED = 24;
export const LOCK_WAITED = 25;

export type Counts = Float64Array;

export function createCounts(): Counts {
  return new Float64Array(SLOTS.length);
}
