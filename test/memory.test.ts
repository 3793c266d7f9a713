import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectGarbage, createMemoryMonitor, detectLeak } from '../src/perf/memory/index.ts';

// A real collector for the test process (vitest does not start Node with --expose-gc).
const gc = collectGarbage;

const MiB = 1024 * 1024;

describe('collectGarbage', () => {
  it('frees an object nothing refers to, without --expose-gc', async () => {
    let target: number[] | undefined = new Array(100_000).fill(1);
    const ref = new WeakRef(target);
    target = undefined;
    // A WeakRef keeps its target until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});

describe('leak detection', () => {
  it('true positive: retained arrays growing between collections', () => {
    let t = 0;
    const monitor = createMemoryMonitor({ gc, now: () => t });
    const retained: number[][] = [];
    for (let i = 0; i < 24; i++) {
      retained.push(new Array(256 * 1024).fill(i + 0.5)); // 2 MiB of doubles, kept
      t += 10_000;
      expect(monitor.forceGc().performed).toBe(true);
    }
    const report = monitor.leak();
    expect(report.suspected).toBe(true);
    // 2 MiB every 10 s is 12 MiB per minute.
    expect(report.slopeBytesPerMinute).toBeGreaterThan(8 * MiB);
    expect(report.slopeBytesPerMinute).toBeLessThan(16 * MiB);
    expect(report.confidence).toBeGreaterThan(0.99);
    expect(report.reason).toMatch(/rises steadily/);
    expect(retained).toHaveLength(24);
    monitor.stop();
  });

  it('true negative: a sawtooth (the same allocations, released before each collection)', () => {
    let t = 0;
    const monitor = createMemoryMonitor({ gc, now: () => t });
    let garbage: number[][] = [];
    for (let i = 0; i < 24; i++) {
      for (let k = 0; k <= i % 6; k++) garbage.push(new Array(256 * 1024).fill(i + 0.5));
      monitor.sample(); // the tooth: sampled at its peak
      garbage = [];
      t += 10_000;
      monitor.forceGc();
    }
    const report = monitor.leak();
    expect(report.suspected).toBe(false);
    expect(Math.abs(report.slopeBytesPerMinute)).toBeLessThan(MiB);
    monitor.stop();
  });

  it('stays quiet on a synthetic sawtooth of interval samples and flags a rising floor', () => {
    const saw = Array.from({ length: 120 }, (_, i) => ({
      t: i * 5000,
      bytes: 100 * MiB + (i % 12) * 8 * MiB,
    }));
    expect(detectLeak(saw).suspected).toBe(false);
    const leaking = saw.map((s) => ({ t: s.t, bytes: s.bytes + s.t * 40 }));
    const report = detectLeak(leaking);
    expect(report.suspected).toBe(true);
    expect(report.slopeBytesPerMinute).toBeCloseTo(40 * 60_000, -5);
  });

  it('does not call noise a leak', () => {
    let seed = 1;
    const rand = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const noisy = Array.from({ length: 120 }, (_, i) => ({
      t: i * 5000,
      bytes: 200 * MiB + rand() * 30 * MiB,
    }));
    expect(detectLeak(noisy).suspected).toBe(false);
  });
});

describe('memory monitor', () => {
  it('reports the budget with a warning at 80% of TARGET_MEMORY_USAGE_MB', () => {
    const rssMb = process.memoryUsage().rss / MiB;
    const warn = createMemoryMonitor({ budgetMb: rssMb / 0.85 });
    warn.sample();
    expect(warn.budget().status).toBe('warning');
    const over = createMemoryMonitor({ budgetMb: Math.max(1, rssMb / 2) });
    over.sample();
    expect(over.budget().status).toBe('over');
    const ok = createMemoryMonitor({ budgetMb: rssMb * 4 });
    ok.sample();
    expect(ok.budget()).toMatchObject({ status: 'ok' });
    expect(ok.budget().ratio).toBeLessThan(0.3);
  });

  it('forced GC without --expose-gc says how to enable it', () => {
    const monitor = createMemoryMonitor({ gc: null });
    const result = monitor.forceGc();
    expect(result.performed).toBe(false);
    expect(result.message).toMatch(/start Node with --expose-gc/);
  });

  it('observes GC pauses and samples on its interval', async () => {
    const monitor = createMemoryMonitor({ intervalMs: 20 });
    monitor.start();
    gc();
    await new Promise((r) => setTimeout(r, 120));
    expect(monitor.gc().counts.major).toBeGreaterThanOrEqual(1);
    expect(monitor.gc().pauses).toBeGreaterThanOrEqual(1);
    expect(monitor.history().length).toBeGreaterThanOrEqual(3);
    expect(monitor.eventLoop().p99Ms).toBeGreaterThan(0);
    monitor.stop();
  });
});

describe('heap snapshots', () => {
  it('keeps the newest snapshotsKept files and leaves other files alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'versus-snapshots-'));
    try {
      // Three older snapshots (empty stand-ins with old times) and a file that is not one.
      const old = [
        'versus-1-2026-01-01T00-00-00-000Z',
        'versus-2-2026-01-02T00-00-00-000Z',
        'versus-3-2026-01-03T00-00-00-000Z',
      ];
      for (const [i, name] of old.entries()) {
        const path = join(dir, `${name}.heapsnapshot`);
        await writeFile(path, '');
        const at = new Date(Date.UTC(2026, 0, i + 1));
        await utimes(path, at, at);
      }
      await writeFile(join(dir, 'notes.heapsnapshot'), 'keep');
      const monitor = createMemoryMonitor({ snapshotDir: dir, snapshotsKept: 2 });
      const written = await monitor.heapSnapshot();
      monitor.stop();
      expect((await stat(written)).size).toBeGreaterThan(1000);
      // The new one and the newest old one stay; the rest of Versus's snapshots are gone.
      expect((await readdir(dir)).sort()).toEqual(
        [basename(written), `${old[2]}.heapsnapshot`, 'notes.heapsnapshot'].sort(),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
