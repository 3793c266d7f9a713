/**
 * What this process knows of tag invalidations.
 *
 * A tag invalidation is a timestamp: entries created before it are gone (delete) or stale
 * (expire). Nothing is rewritten, so an invalidation costs the same for one entry or a million,
 * and entries written by other instances obey it too. The map is complete for every invalidation
 * made since `since` (this process's own, and other instances' through the bus); a tag of an entry
 * created before `since` must be loaded from Redis once before the entry is trusted.
 */
import type { Entry } from './entry.ts';

interface TagRecord {
  deletedAt: number;
  expiredAt: number;
  /** Holds the Redis record too, not only invalidations seen since `since`. */
  loaded: boolean;
}

export const DEAD = -1;

/**
 * Most tags remembered. Past it the owner forgets them all and drops L1 (see `full`): entries
 * read from Redis afterwards load their tag records again, so nothing stale is trusted.
 */
export const MAX_TAGS = 100_000;

export class TagState {
  #tags = new Map<string, TagRecord>();
  /** From when on every invalidation reaches this process. */
  since: number;

  constructor(since: number) {
    this.since = since;
  }

  #record(tag: string): TagRecord {
    let r = this.#tags.get(tag);
    if (r === undefined) {
      r = { deletedAt: 0, expiredAt: 0, loaded: false };
      this.#tags.set(tag, r);
    }
    return r;
  }

  /** Records an invalidation (local or from the bus or Redis). */
  apply(tag: string, kind: 'delete' | 'expire', at: number): void {
    const r = this.#record(tag);
    if (kind === 'delete') r.deletedAt = Math.max(r.deletedAt, at);
    else r.expiredAt = Math.max(r.expiredAt, at);
  }

  /** Merges a record read from Redis. */
  load(tag: string, deletedAt: number, expiredAt: number): void {
    const r = this.#record(tag);
    r.deletedAt = Math.max(r.deletedAt, deletedAt);
    r.expiredAt = Math.max(r.expiredAt, expiredAt);
    r.loaded = true;
  }

  /** Tags of `entry` this process cannot judge without reading Redis. */
  unknown(entry: Entry): string[] {
    if (entry.tags === undefined || entry.createdAt >= this.since) return [];
    return entry.tags.filter((t) => this.#tags.get(t)?.loaded !== true);
  }

  /** The entry's fresh-until time after tag expirations (0: expired), or DEAD when a tag deleted it. */
  expiresAt(entry: Entry): number {
    let expiresAt = entry.expiresAt;
    for (const tag of entry.tags!) {
      const r = this.#tags.get(tag);
      if (r === undefined) continue;
      if (r.deletedAt >= entry.createdAt) return DEAD;
      if (r.expiredAt >= entry.createdAt) expiresAt = 0;
    }
    return expiresAt;
  }

  /** Forgets everything (the bus was lost: invalidations may have been missed). */
  reset(since: number): void {
    this.#tags.clear();
    this.since = since;
  }

  get size(): number {
    return this.#tags.size;
  }

  /** True when the map has outgrown MAX_TAGS (many distinct tags invalidated over time). */
  get full(): boolean {
    return this.#tags.size > MAX_TAGS;
  }
}
