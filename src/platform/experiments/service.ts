/**
 * Experiments: create, read (through the tiered cache), update. Reads by id or by name are cached
 * with tags; every change deletes the experiment's tag, which the cache's bus carries to every
 * other instance, so a PATCH takes effect everywhere at once instead of after a TTL.
 */
import { randomBytes } from 'node:crypto';
import { assertStorableText, isStorableText } from '../../perf/db/index.ts';
import { allocationCounts, bucketCounts, initialAllocation, rebalance } from './assignment.ts';
import {
  ExperimentConflictError,
  ExperimentNameTakenError,
  ExperimentNotFoundError,
  ExperimentTransitionError,
} from './errors.ts';
import { allowedTransitions, canTransition } from './lifecycle.ts';
import type { Experiment } from './model.ts';
import { createExperimentStore, type SqlClient } from './store.ts';
import { ID_PREFIX, validateCreate, validatePatch } from './validation.ts';

/** The part of the tiered cache (src/perf/cache) this module uses. Durations in ms. */
export interface ExperimentCache {
  getOrSet<T>(
    key: string,
    factory: (ctx: { setTtl(ttl: number): void }) => T | Promise<T>,
    options?: { ttl?: number; tags?: readonly string[] },
  ): Promise<T>;
  deleteByTag(tags: string | readonly string[]): Promise<void>;
}

export interface ExperimentServiceOptions {
  db: SqlClient;
  cache: ExperimentCache;
  /** True for models the gateway can route to (GET /v1/models). */
  isKnownModel: (model: string) => boolean;
  /** How long a found experiment stays cached (changes invalidate at once). @default 60000 */
  ttlMs?: number;
  /** How long "no such experiment" stays cached (creating it invalidates at once). @default 5000 */
  missingTtlMs?: number;
}

export interface ExperimentService {
  create(body: unknown): Promise<Experiment>;
  list(options?: { limit?: number; after?: string }): Promise<Experiment[]>;
  /** By id or name, through the cache; undefined when there is none. */
  find(ref: string): Promise<Experiment | undefined>;
  /** Like find, but throws EXPERIMENT_NOT_FOUND. */
  get(ref: string): Promise<Experiment>;
  update(ref: string, body: unknown): Promise<Experiment>;
}

export const experimentTag = (id: string): string => `experiment:${id}`;
const nameTag = (name: string): string => `experiment-name:${name}`;

let lastIdMs = 0;

function newId(): string {
  // Time first, so ids sort by creation (the list's order and cursor). Ids made in the same
  // millisecond take the next millisecond, so a burst still sorts in creation order here; the
  // random part only orders ids of different instances made in the same millisecond.
  const ms = Math.max(Date.now(), lastIdMs + 1);
  lastIdMs = ms;
  return `${ID_PREFIX}${ms.toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}

export function createExperimentService(options: ExperimentServiceOptions): ExperimentService {
  const store = createExperimentStore(options.db);
  const cache = options.cache;
  const ttl = options.ttlMs ?? 60_000;
  const missingTtl = options.missingTtlMs ?? 5_000;

  async function find(ref: string): Promise<Experiment | undefined> {
    // No stored id or name holds a NUL (text cannot): none to find, and no statement to fail.
    if (!isStorableText(ref)) return undefined;
    const byId = ref.startsWith(ID_PREFIX);
    const found = await cache.getOrSet<Experiment | null>(
      byId ? `id:${ref}` : `name:${ref}`,
      async (ctx) => {
        const e = byId ? await store.byId(ref) : await store.byName(ref);
        if (e === undefined) ctx.setTtl(missingTtl);
        return e ?? null;
      },
      // A miss carries the name tag so creating that name clears it; a hit is cleared by id.
      { ttl, tags: byId ? [experimentTag(ref)] : [nameTag(ref)] },
    );
    return found ?? undefined;
  }

  async function get(ref: string): Promise<Experiment> {
    const e = await find(ref);
    if (e === undefined)
      throw new ExperimentNotFoundError(`no experiment has the id or name ${JSON.stringify(ref)}`);
    return e;
  }

  async function invalidate(e: Experiment): Promise<void> {
    await cache.deleteByTag([experimentTag(e.id), nameTag(e.name)]);
  }

  return {
    async create(body) {
      // Every string of the body may be stored (descriptions, system prompts, params as jsonb).
      assertStorableText(body, 'body');
      const input = validateCreate(body, options.isKnownModel);
      const now = new Date().toISOString();
      const experiment: Experiment = {
        id: newId(),
        name: input.name,
        description: input.description,
        status: input.status,
        salt: randomBytes(8).toString('hex'),
        variants: input.variants,
        allocation: initialAllocation(bucketCounts(input.variants.map((v) => v.weight))!),
        cacheTtlS: input.cacheTtlS,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      if (!(await store.insert(experiment))) {
        throw new ExperimentNameTakenError(
          `an experiment named ${JSON.stringify(input.name)} already exists`,
        );
      }
      await invalidate(experiment);
      return experiment;
    },

    async list({ limit = 100, after } = {}) {
      if (after !== undefined) assertStorableText(after, 'querystring.after');
      return store.list(Math.max(1, Math.min(limit, 1000)), after);
    },
    find,
    get,

    async update(ref, body) {
      assertStorableText(body, 'body');
      for (let attempt = 0; attempt < 3; attempt++) {
        // Read the row itself, not the cache: the version must be the current one.
        const cached = await get(ref);
        const current = (await store.byId(cached.id)) ?? cached;
        const patch = validatePatch(body, current.variants);
        const status = patch.status ?? current.status;
        if (!canTransition(current.status, status)) {
          const allowed = allowedTransitions(current.status);
          throw new ExperimentTransitionError(
            `cannot change status from ${current.status} to ${status}; allowed from ${current.status}: ${allowed.length === 0 ? 'none (stopped is final)' : allowed.join(', ')}`,
            { details: { from: current.status, to: status, allowed } },
          );
        }
        if (current.status === 'stopped' && patch.weights !== undefined) {
          throw new ExperimentConflictError('the experiment is stopped; its weights can no longer change');
        }
        // Asking for what is already there (the same status, weights or description) is a no-op:
        // nothing is written, so neither the version nor updated_at moves.
        const unchanged =
          status === current.status &&
          (patch.weights === undefined || patch.weights.every((w, i) => w === current.variants[i]!.weight)) &&
          (patch.description === undefined || patch.description === current.description);
        if (unchanged) return current;
        let { variants, allocation } = current;
        if (patch.weights !== undefined) {
          const weights = patch.weights;
          variants = current.variants.map((v, i) => ({ ...v, weight: weights[i]! }));
          const target = bucketCounts(weights)!;
          const now = allocationCounts(current.allocation, variants.length);
          if (target.some((t, i) => t !== now[i])) allocation = rebalance(current.allocation, target);
        }
        const description = patch.description !== undefined ? patch.description : current.description;
        const updated = await store.update(current.id, current.version, {
          status,
          variants,
          allocation,
          description,
        });
        if (updated !== undefined) {
          await invalidate(updated);
          return updated;
        }
        // Someone else updated the row between our read and write: read again and re-apply.
      }
      throw new ExperimentConflictError('the experiment kept changing while this update was applied; retry');
    },
  };
}
