/**
 * Key layout.
 *
 * L1 keys are what the hit path looks up, so they cost nothing to build for the root: a root
 * key is stored as given; a namespace key is NUL + relative path + NUL + key (views memoise it).
 * Keys starting with NUL are therefore reserved (rejected on writes).
 *
 * Redis keys carry the cache name: `<name>::<key>` for the root, `<name>/<path>::<key>` for a
 * namespace, tag records under `<name>[/<path>]#<tag>!d|!e` and the tag's life key under
 * `<name>[/<path>]#<tag>!l` (scripts.ts; on a Redis Cluster `{<name>[/<path>]#<tag>}!d|!e|!l`, one
 * hash slot per tag: RedisTier.tagKey), locks under `<name>!lock:`.
 * Names and namespace segments cannot contain ':', '/', '#' or '!', so these never overlap.
 */

export function namespaceL1Key(rel: string, key: string): string {
  return `\0${rel}\0${key}`;
}

export class Keys {
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  /** The Redis key of an L1 key. */
  redis(l1: string): string {
    if (l1.charCodeAt(0) !== 0) return `${this.name}::${l1}`;
    const end = l1.indexOf('\0', 1);
    return `${this.name}/${l1.slice(1, end)}::${l1.slice(end + 1)}`;
  }

  /** The L1 key of a Redis key of this cache, or undefined for another cache's key. */
  l1(redis: string): string | undefined {
    const n = this.name.length;
    if (!redis.startsWith(this.name)) return undefined;
    if (redis.startsWith('::', n)) return redis.slice(n + 2);
    if (redis.charCodeAt(n) !== 47 /* '/' */) return undefined;
    const sep = redis.indexOf('::', n);
    if (sep === -1) return undefined;
    return namespaceL1Key(redis.slice(n + 1, sep), redis.slice(sep + 2));
  }

  /** Redis path of a namespace: the name, or `<name>/<rel>`. */
  path(rel: string): string {
    return rel === '' ? this.name : `${this.name}/${rel}`;
  }

  /** L1 key prefixes of a namespace and its children; undefined for the root (everything). */
  l1Prefixes(path: string): string[] | undefined {
    if (path === this.name) return undefined;
    const rel = path.slice(this.name.length + 1);
    return [`\0${rel}\0`, `\0${rel}/`];
  }
}
