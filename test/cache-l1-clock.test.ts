import { describe, expect, it } from 'vitest';
import { createCounts, L1_EVICT } from '../src/perf/cache/counters.ts';
import { makeEntry } from '../src/perf/cache/entry.ts';
import { createL1 } from '../src/perf/cache/l1.ts';

const entry = (value: unknown) => makeEntry(value, 60_000, 0, undefined);

describe('L1 eviction (CLOCK)', () => {
  it('evicts the oldest entry not read since the hand last passed, and counts it', () => {
    const counts = createCounts();
    const l1 = createL1(3, undefined, () => 1, counts);
    for (const k of ['a', 'b', 'c']) l1.set(k, entry(k));
    l1.set('d', entry('d')); // everything was just written: the oldest, a, goes
    expect([...l1.keys()].sort()).toEqual(['b', 'c', 'd']);
    l1.get('b');
    l1.set('e', entry('e')); // b was read since: c goes
    expect(l1.peek('b')).toBeDefined();
    expect(l1.peek('c')).toBeUndefined();
    expect(l1.size).toBe(3);
    expect(counts[L1_EVICT]).toBe(2);
  });

  it('keeps evicting the oldest unseen entry across a run of evicting writes, deletes and reads', () => {
    const counts = createCounts();
    const l1 = createL1(3, undefined, () => 1, counts);
    for (const k of ['a', 'b', 'c', 'd']) l1.set(k, entry(k)); // a goes; b, c, d lose their bit
    l1.get('c');
    l1.set('e', entry('e')); // b: the oldest unseen
    expect([...l1.keys()].sort()).toEqual(['c', 'd', 'e']);
    l1.set('f', entry('f')); // c gets its second chance, d goes
    expect([...l1.keys()].sort()).toEqual(['c', 'e', 'f']);
    l1.delete('e');
    l1.set('g', entry('g')); // room left: nothing goes
    l1.set('h', entry('h')); // f gets its second chance; c's was used: it goes
    expect([...l1.keys()].sort()).toEqual(['f', 'g', 'h']);
    l1.clear();
    for (const k of ['i', 'j', 'k', 'l']) l1.set(k, entry(k));
    expect([...l1.keys()].sort()).toEqual(['j', 'k', 'l']);
    expect(counts[L1_EVICT]).toBe(5);
  });

  it('stays exact through many evictions (evicted keys are moved out of the Map in batches)', () => {
    const counts = createCounts();
    const l1 = createL1(3, undefined, () => 1, counts);
    // Past several batches of 1,024 gone keys (the smallest batch).
    for (let i = 0; i < 5000; i++) {
      l1.set(`k${i}`, entry(i));
      // An evicted key written again is a new entry, not a ghost of the old one.
      if (i % 10 === 0) l1.set('k0', entry(`again ${i}`));
    }
    l1.set('k0', entry('last'));
    expect(l1.size).toBe(3);
    expect([...l1.entries()]).toHaveLength(3);
    expect(l1.peek('k4999')?.value).toBe(4999);
    expect(l1.peek('k0')?.value).toBe('last');
    expect(l1.get('k5')).toBeUndefined();
    expect(l1.peek('k5')).toBeUndefined();
    expect(l1.delete('k5')).toBe(false);
    // Every write of a key not in L1 past the third evicted one entry: 5,000 keys, k0 again 499
    // times after it had gone, and once more at the end.
    expect(counts[L1_EVICT]).toBe(5000 + 499 + 1 - 3);
    for (const [key, e] of l1.entries()) expect(l1.peek(key)).toBe(e);
  });

  it('one entry object written under two keys is held twice, each deletable on its own', () => {
    const l1 = createL1(10, undefined, () => 1, createCounts());
    const shared = entry('v');
    l1.set('a', shared);
    l1.set('b', shared);
    expect(l1.peek('a')?.value).toBe('v');
    expect(l1.peek('b')?.value).toBe('v');
    l1.delete('a');
    expect(l1.peek('a')).toBeUndefined();
    expect(l1.peek('b')?.value).toBe('v');
    expect(l1.size).toBe(1);
  });

  it('replacing or deleting an entry is not an eviction', () => {
    const counts = createCounts();
    const l1 = createL1(2, undefined, () => 1, counts);
    l1.set('a', entry(1));
    l1.set('a', entry(2));
    l1.delete('a');
    l1.set('b', entry(3));
    l1.clear();
    expect(l1.size).toBe(0);
    expect(counts[L1_EVICT]).toBe(0);
  });

  it('bounds bytes, drops a value larger than the bound and the older value of its key', () => {
    const counts = createCounts();
    const l1 = createL1(100, 10, (v) => (v as string).length, counts);
    l1.set('a', entry('xxxx'));
    l1.set('b', entry('xxxx'));
    expect(l1.calculatedSize).toBe(8);
    l1.set('c', entry('xxxx')); // 12 > 10: the oldest goes
    expect(l1.peek('a')).toBeUndefined();
    expect(l1.calculatedSize).toBe(8);
    l1.set('b', entry('x'.repeat(11)));
    expect(l1.peek('b')).toBeUndefined();
    expect(l1.calculatedSize).toBe(4);
    l1.delete('c');
    expect(l1.calculatedSize).toBe(0);
    expect(counts[L1_EVICT]).toBe(1);
  });
});
