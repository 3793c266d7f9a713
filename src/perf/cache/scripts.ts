/**
 * The cache's Lua scripts: the lock's release, and those that keep tag records alive exactly as
 * long as an entry may need them.
 *
 * A tag's invalidation records (`<tagId>!d`, `<tagId>!e`) must outlive every entry created
 * before the invalidation, or such an entry would be trusted again once its record is gone. So
 * each tag has a third key, `<tagId>!l`, that outlives every entry of the tag in Redis (tagged
 * writes lengthen it), and an invalidation gives its record the life key's remaining life (at
 * least RECORD_FLOOR_MS). A write that reaches Redis after the invalidation lengthens the records
 * it finds, so whichever of the two Redis runs first, the record outlives the entry.
 * Expiries are relative (PTTL, PX): the instances' clocks and Redis's need not agree.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Shortest life of a record: covers a write of an entry created before the invalidation that is
 * still on its way to Redis when the invalidation runs and finds no life key yet.
 */
export const RECORD_FLOOR_MS = 60_000;

/**
 * Lengthens, per tag, the life key (made if missing) and the existing records to `life` ms: the
 * keys from KEYS[first] on, three per tag (life key, delete record, expire record), `life` from
 * ARGV[lifeArg]. Once it has run, every record of these tags lasts at least that life: the
 * existing ones are lengthened here, later ones take the life key's. So until then, writes of
 * entries that are gone sooner need no script (RedisTier remembers the life it gave), unless a
 * clear deletes the keys.
 */
const lives = (first: number, lifeArg: number) => `
local life = tonumber(ARGV[${lifeArg}])
for i = ${first}, #KEYS, 3 do
  for j = i, i + 2 do
    local t = redis.call('PTTL', KEYS[j])
    if t == -2 and j == i then
      redis.call('SET', KEYS[j], '1', 'PX', life)
    elseif t >= 0 and t < life then
      redis.call('PEXPIRE', KEYS[j], life)
    end
  end
end
`;

/**
 * A tagged write on one Redis server. KEYS: the entry, then the tags' keys as `lives` takes them.
 * ARGV: the encoded entry, its lifetime in ms, the life in ms to give the tags (at least the
 * entry's).
 */
const TAGGED_SET = `${lives(2, 3)}return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
`;

/**
 * One tag's part of a tagged write on Redis Cluster, where the entry and its tags are in different
 * slots: the entry's SET goes separately. KEYS: the tag's three keys (one slot: they share a hash
 * tag). ARGV: the life in ms.
 */
const TAG_LIVES = `${lives(1, 1)}return 1
`;

/**
 * KEYS: per tag its record (delete or expire) and its life key.
 * ARGV: the invalidation's timestamp, the records' shortest life in ms.
 * A record keeps the later of its timestamp and this one, and the longest of its own remaining
 * life, the life key's and the floor. A record without expiry (written by tags.recordTtl-less
 * versions before life keys) keeps having none.
 */
const INVALIDATE = `
local at = tonumber(ARGV[1])
local floor = tonumber(ARGV[2])
for i = 1, #KEYS, 2 do
  local rec = KEYS[i]
  local cur = tonumber(redis.call('GET', rec) or '0') or 0
  local t = redis.call('PTTL', rec)
  if t == -1 then
    if at > cur then redis.call('SET', rec, ARGV[1], 'KEEPTTL') end
  else
    local px = math.max(floor, t, redis.call('PTTL', KEYS[i + 1]))
    if at > cur then
      redis.call('SET', rec, ARGV[1], 'PX', px)
    else
      redis.call('PEXPIRE', rec, px)
    end
  end
end
return 1
`;

/** The lock's compare-and-delete: release it only if we still hold it. KEYS: the lock; ARGV: our token. */
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

export const TAGGED_SET_SCRIPT = script(TAGGED_SET);
export const TAG_LIVES_SCRIPT = script(TAG_LIVES);
export const INVALIDATE_SCRIPT = script(INVALIDATE);
export const RELEASE_SCRIPT = script(RELEASE);

/**
 * Runs a script by its hash, sending its source only when Redis does not hold it yet (after a
 * restart or SCRIPT FLUSH): EVAL caches it for the next EVALSHA.
 */
export function runScript(
  redis: Redis,
  s: Script,
  keys: string[],
  args: (string | number | Buffer)[],
): Promise<unknown> {
  return redis.evalsha(s.sha, keys.length, ...keys, ...args).catch((err: Error) => {
    if (!err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(s.source, keys.length, ...keys, ...args);
  });
}
