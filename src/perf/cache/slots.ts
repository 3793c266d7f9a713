/**
 * Redis Cluster hash slots. A command over several keys must keep to one slot there, so the
 * cache's multi-key commands (MGET, DEL, UNLINK) are split by slot, with the same slot function
 * ioredis routes by.
 */
import { createRequire } from 'node:module';

type SlotOf = (key: string) => number;

/** Loaded with the first cluster call: a standalone cache never needs it. */
let slotOf: SlotOf | undefined;

/** Indexes of `keys` grouped by hash slot, groups in order of their first key. */
export function bySlot(keys: readonly string[]): number[][] {
  slotOf ??= createRequire(import.meta.url)('cluster-key-slot') as SlotOf;
  const groups = new Map<number, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const slot = slotOf(keys[i]!);
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [i]);
    else group.push(i);
  }
  return [...groups.values()];
}

/** Runs `command` once per slot's keys; the answers come back in the order of `keys`. */
export async function perSlot<T>(
  keys: readonly string[],
  command: (keys: string[]) => Promise<T[]>,
): Promise<T[]> {
  const out = new Array<T>(keys.length);
  await Promise.all(
    bySlot(keys).map(async (group) => {
      const answers = await command(group.map((i) => keys[i]!));
      for (let j = 0; j < group.length; j++) out[group[j]!] = answers[j]!;
    }),
  );
  return out;
}

/** Runs `command` once per slot's keys, for commands whose answers are not needed (DEL, UNLINK). */
export function eachSlot(
  keys: readonly string[],
  command: (keys: string[]) => Promise<unknown>,
): Promise<unknown> {
  return Promise.all(bySlot(keys).map((group) => command(group.map((i) => keys[i]!))));
}
