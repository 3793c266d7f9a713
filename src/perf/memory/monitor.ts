/**
 * The memory monitor: heap, RSS and external memory sampled on an interval, GC pauses from
 * perf_hooks, event-loop delay, a leak check on the heap that survives GC, the memory budget, and
 * the operator actions (forced GC, heap snapshot).
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, type ELDHistogram, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { defineError } from '../errors.ts';
import { detectLeak, type HeapPoint, type LeakOptions, type LeakReport } from './leak.ts';

export const HeapSnapshotBusyError = defineError(
  'HEAP_SNAPSHOT_IN_PROGRESS',
  409,
  'A heap snapshot is already being written by this process.',
  'Wait for the running snapshot to finish (it blocks the process for seconds on a large heap), then ask again.',
);

export interface MemoryMonitorOptions {
  /** Sampling interval in ms. @default 5000 */
  intervalMs?: number;
  /** Memory budget per process in MB (TARGET_MEMORY_USAGE_MB); the warning level is 80%. @default 512 */
  budgetMb?: number;
  /** How far back leak detection and trends look, ms. @default 600000 (10 min) */
  windowMs?: number;
  /** A GC function; null: none. @default `globalThis.gc` when Node runs with --expose-gc */
  gc?: (() => void) | null;
  /** Where heap snapshots go. @default the OS temp directory */
  snapshotDir?: string;
  /**
   * Heap snapshots kept in `snapshotDir`: after writing one, the oldest `versus-*.heapsnapshot`
   * files beyond this many are deleted (each is about the size of the heap). @default 3
   */
  snapshotsKept?: number;
  leak?: LeakOptions;
  /** Clock in ms (tests). @default Date.now */
  now?: () => number;
}

export interface MemorySample {
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export type BudgetStatus = 'ok' | 'warning' | 'over';

export interface BudgetReport {
  budgetBytes: number;
  usedBytes: number;
  /** RSS / budget. */
  ratio: number;
  status: BudgetStatus;
}

export interface GcReport {
  /** Collections since start, by kind (minor, major, incremental, weakcb). */
  counts: Record<string, number>;
  /** Pauses within the window, ms. */
  pauseMsTotal: number;
  pauseMsMax: number;
  pauses: number;
}

export interface EventLoopReport {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface GcResult {
  performed: boolean;
  /** Heap used before and after, when performed. */
  beforeBytes?: number;
  afterBytes?: number;
  freedBytes?: number;
  message: string;
}

export interface MemoryMonitor {
  start(): void;
  /** Takes a sample now (also done on the interval). */
  sample(): MemorySample;
  latest(): MemorySample;
  /** Samples within the window, oldest first. */
  history(): readonly MemorySample[];
  /** Heap used after each major GC within the window. */
  heapAfterGc(): readonly HeapPoint[];
  leak(): LeakReport;
  budget(): BudgetReport;
  gc(): GcReport;
  eventLoop(): EventLoopReport;
  forceGc(): GcResult;
  /** Writes a heap snapshot and returns its path. Blocks the process while it writes. */
  heapSnapshot(): Promise<string>;
  stop(): void;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export function createMemoryMonitor(options: MemoryMonitorOptions = {}): MemoryMonitor {
  const intervalMs = options.intervalMs ?? 5000;
  const budgetBytes = (options.budgetMb ?? 512) * 1024 * 1024;
  const windowMs = options.windowMs ?? 600_000;
  const now = options.now ?? Date.now;
  const gcFn = options.gc === null ? undefined : (options.gc ?? (globalThis as { gc?: () => void }).gc);
  const samples: MemorySample[] = [];
  const afterGc: HeapPoint[] = [];
  const pauses: { t: number; ms: number }[] = [];
  const gcCounts: Record<string, number> = {};
  let timer: NodeJS.Timeout | undefined;
  let observer: PerformanceObserver | undefined;
  let loop: ELDHistogram | undefined;
  let lastLoop: EventLoopReport = { p50Ms: 0, p99Ms: 0, maxMs: 0 };
  let snapshotting = false;

  function trim<T extends { t: number }>(list: T[]): void {
    const oldest = now() - windowMs;
    let n = 0;
    while (n < list.length && list[n]!.t < oldest) n++;
    if (n > 0) list.splice(0, n);
  }

  function sample(): MemorySample {
    const m = process.memoryUsage();
    const s: MemorySample = {
      t: now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    };
    samples.push(s);
    trim(samples);
    if (loop !== undefined && loop.count > 0) {
      lastLoop = {
        p50Ms: loop.percentile(50) / 1e6,
        p99Ms: loop.percentile(99) / 1e6,
        maxMs: loop.max / 1e6,
      };
      loop.reset();
    }
    return s;
  }

  return {
    start() {
      if (timer !== undefined) return;
      sample();
      timer = setInterval(sample, intervalMs);
      timer.unref();
      observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const detail = (entry as { detail?: { kind?: number } }).detail;
          const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
          gcCounts[kind] = (gcCounts[kind] ?? 0) + 1;
          pauses.push({ t: now(), ms: entry.duration });
          if (kind === 'major') afterGc.push({ t: now(), bytes: v8.getHeapStatistics().used_heap_size });
        }
        trim(pauses);
        trim(afterGc);
      });
      observer.observe({ entryTypes: ['gc'] });
      loop = monitorEventLoopDelay({ resolution: 20 });
      loop.enable();
    },
    sample,
    latest: () => samples[samples.length - 1] ?? sample(),
    history: () => samples,
    heapAfterGc: () => afterGc,
    leak() {
      trim(afterGc);
      // GC events give the true floor; with too few of them (an idle process), the troughs of
      // the interval samples stand in for it.
      if (afterGc.length >= 8) return detectLeak(afterGc, options.leak);
      return detectLeak(
        samples.map((s) => ({ t: s.t, bytes: s.heapUsed })),
        options.leak,
      );
    },
    budget() {
      const used = (samples[samples.length - 1] ?? sample()).rss;
      const ratio = used / budgetBytes;
      return {
        budgetBytes,
        usedBytes: used,
        ratio: Math.round(ratio * 1000) / 1000,
        status: ratio >= 1 ? 'over' : ratio >= 0.8 ? 'warning' : 'ok',
      };
    },
    gc() {
      trim(pauses);
      let total = 0;
      let max = 0;
      for (const p of pauses) {
        total += p.ms;
        if (p.ms > max) max = p.ms;
      }
      return {
        counts: { ...gcCounts },
        pauseMsTotal: Math.round(total * 100) / 100,
        pauseMsMax: Math.round(max * 100) / 100,
        pauses: pauses.length,
      };
    },
    eventLoop: () => lastLoop,
    forceGc() {
      if (gcFn === undefined) {
        return {
          performed: false,
          message:
            'garbage collection cannot be forced: start Node with --expose-gc (NODE_OPTIONS=--expose-gc) to allow it',
        };
      }
      const before = process.memoryUsage().heapUsed;
      gcFn();
      const after = v8.getHeapStatistics().used_heap_size;
      afterGc.push({ t: now(), bytes: after });
      trim(afterGc);
      sample();
      return {
        performed: true,
        beforeBytes: before,
        afterBytes: after,
        freedBytes: Math.max(0, before - after),
        message: `garbage collected: heap used ${mib(before)} -> ${mib(after)}`,
      };
    },
    async heapSnapshot() {
      if (snapshotting) throw new HeapSnapshotBusyError('a heap snapshot is already being written');
      snapshotting = true;
      try {
        const dir = options.snapshotDir ?? tmpdir();
        await mkdir(dir, { recursive: true });
        const file = join(
          dir,
          `versus-${process.pid}-${new Date().toISOString().replace(/[:.]/g, '-')}.heapsnapshot`,
        );
        const written = v8.writeHeapSnapshot(file);
        await pruneSnapshots(dir, options.snapshotsKept ?? 3, written);
        return written;
      } finally {
        snapshotting = false;
      }
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      observer?.disconnect();
      observer = undefined;
      loop?.disable();
      loop = undefined;
    },
  };
}

const SNAPSHOT_FILE = /^versus-\d+-[\dTZ-]+\.heapsnapshot$/;

/**
 * Deletes the oldest of Versus's heap snapshots in `dir` beyond the newest `kept` (the one just
 * written always stays). Other files are never touched; a file that cannot be read or deleted
 * is skipped: pruning must not fail the snapshot.
 */
async function pruneSnapshots(dir: string, kept: number, written: string): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => SNAPSHOT_FILE.test(n));
  } catch {
    return;
  }
  const files: { path: string; mtime: number }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (path === written) continue;
    try {
      files.push({ path, mtime: (await stat(path)).mtimeMs });
    } catch {
      // Gone meanwhile.
    }
  }
  files.sort((a, b) => b.mtime - a.mtime);
  for (const old of files.slice(Math.max(0, kept - 1))) await rm(old.path, { force: true }).catch(() => {});
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
