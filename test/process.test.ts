import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { gracefulClose } from '../src/lifecycle.ts';
import { testApp } from './helpers/app.ts';
import { freePort } from './helpers/http.ts';
import { get, type Started, startMain } from './helpers/process.ts';
import { DATABASE_URL, hasPostgres } from './helpers/services.ts';

let started: Started | undefined;
afterEach(() => {
  if (started && started.child.exitCode === null) started.child.kill('SIGKILL');
  started = undefined;
});

/** An app with a slow route; `arrived` resolves once a request is inside the handler. */
async function slowApp(
  delayMs: number,
): Promise<{ app: FastifyInstance; port: number; arrived: Promise<void> }> {
  let signal: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    signal = resolve;
  });
  const { app } = await testApp({}, (a) => {
    a.get('/slow', async () => {
      signal();
      await new Promise((r) => setTimeout(r, delayMs));
      return { done: true };
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : 0, arrived };
}

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, then refuses new connections', async () => {
    const { app, port, arrived } = await slowApp(400);
    const inflight = get(port, '/slow');
    await arrived;
    const closing = gracefulClose(app, 5000);
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ done: true });
    const result = await closing;
    expect(result.forced).toBe(false);
    expect(result.ms).toBeGreaterThanOrEqual(150);
    await expect(get(port, '/health')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('cuts requests that outlive the deadline', async () => {
    const { app, port, arrived } = await slowApp(5000);
    const inflight = get(port, '/slow').then(
      () => 'answered',
      () => 'cut',
    );
    await arrived;
    const result = await gracefulClose(app, 200);
    expect(result.forced).toBe(true);
    expect(await inflight).toBe('cut');
  });

  it('says in the banner when it listens on every interface', async () => {
    const port = await freePort();
    started = await startMain({
      PORT: String(port),
      HOST: '0.0.0.0',
      API_KEYS: 'banner-client-key-0123456789',
    });
    expect(started.stdout()).toContain(`:${port} and every other interface (HOST=0.0.0.0)`);
    expect(started.stdout()).toMatch(/auth +on: 1 client key/);
    expect(started.stdout()).not.toContain('banner-client-key');
  });

  it('exits 0 on SIGTERM, prints the start-up banner, runs with its V8 flags and leaves the compile cache filled', async () => {
    const port = await freePort();
    const cacheDir = await mkdtemp(join(tmpdir(), 'versus-compile-cache-'));
    try {
      // No NODE_COMPILE_CACHE (which would turn the cache on by itself): the default place, under
      // the temp directory, is only written when bin/versus.js turns the cache on.
      started = await startMain({ PORT: String(port), TMPDIR: cacheDir });
      expect(started.stdout()).toContain(`listening on http://127.0.0.1:${port}`);
      expect(started.stdout()).toMatch(/auth +off/);
      expect((await get(port, '/health')).status).toBe(200);
      if (process.platform === 'linux') {
        // bin/versus.js replaced itself (same pid) with a process that keeps WebAssembly on Liftoff,
        // caps the young generation and does not pretenure.
        const argv = (await readFile(`/proc/${started.child.pid}/cmdline`, 'utf8')).split('\0');
        expect(argv).toContain('--liftoff-only');
        expect(argv).toContain('--max-semi-space-size=8');
        expect(argv).toContain('--no-allocation-site-pretenuring');
        // V8's background threads: as many as there are CPUs, up to Node's default of four.
        const cpus = availableParallelism();
        if (cpus < 4) expect(argv).toContain(`--v8-pool-size=${cpus}`);
        else expect(argv.some((a) => a.startsWith('--v8-pool-size'))).toBe(false);
      }
      started.child.kill('SIGTERM');
      expect(await started.exited).toEqual({ code: 0, signal: null });
      // bin/versus.js turned the cache on: the sources it loaded are in it for the next start.
      const files = await readdir(join(cacheDir, 'node-compile-cache'), { recursive: true });
      expect(files.length).toBeGreaterThan(10);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('V8 flags', () => {
  it.runIf(process.platform === 'linux')(
    'leaves a young-generation size given in NODE_OPTIONS alone',
    async () => {
      const port = await freePort();
      started = await startMain({ PORT: String(port), NODE_OPTIONS: '--max_semi_space_size=4' });
      const argv = (await readFile(`/proc/${started.child.pid}/cmdline`, 'utf8')).split('\0');
      expect(argv).toContain('--liftoff-only');
      expect(argv.some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);
      started.child.kill('SIGTERM');
      expect(await started.exited).toEqual({ code: 0, signal: null });
    },
  );

  it.runIf(process.platform === 'linux')(
    'keeps V8 pretenuring when the command line asks for it',
    async () => {
      const port = await freePort();
      started = await startMain({ PORT: String(port) }, 'listening on', 20_000, [
        '--allocation-site-pretenuring',
      ]);
      const argv = (await readFile(`/proc/${started.child.pid}/cmdline`, 'utf8')).split('\0');
      expect(argv).toContain('--allocation-site-pretenuring');
      expect(argv).not.toContain('--no-allocation-site-pretenuring');
      expect(argv).toContain('--max-semi-space-size=8');
      started.child.kill('SIGTERM');
      expect(await started.exited).toEqual({ code: 0, signal: null });
    },
  );
});

/** The backlog of the socket listening on `port`, as the kernel reports it (`ss`), or undefined. */
function listenBacklog(port: number): number | undefined {
  const out = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  if (out.status !== 0) return undefined;
  // State Recv-Q Send-Q Local Peer: on a listening socket Send-Q is the backlog.
  const fields = out.stdout.trim().split(/\s+/);
  return fields.length >= 3 ? Number(fields[2]) : undefined;
}

describe('listen backlog', () => {
  const hasSs = spawnSync('ss', ['-V']).status === 0;
  it.runIf(process.platform === 'linux' && hasSs)(
    'listens with LISTEN_BACKLOG (default 2048), capped by the kernel',
    async () => {
      const somaxconn = Number(await readFile('/proc/sys/net/core/somaxconn', 'utf8'));
      const port = await freePort();
      started = await startMain({ PORT: String(port) });
      expect(listenBacklog(port)).toBe(Math.min(2048, somaxconn));
      started.child.kill('SIGTERM');
      expect(await started.exited).toEqual({ code: 0, signal: null });

      const other = await freePort();
      started = await startMain({ PORT: String(other), LISTEN_BACKLOG: '700' });
      expect(listenBacklog(other)).toBe(Math.min(700, somaxconn));
      started.child.kill('SIGTERM');
      expect(await started.exited).toEqual({ code: 0, signal: null });
    },
  );
});

describe('prometheus port', () => {
  it('serves the same metrics without auth on PROMETHEUS_PORT', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    started = await startMain({
      PORT: String(port),
      ENABLE_PROMETHEUS: 'true',
      PROMETHEUS_PORT: String(metricsPort),
      API_KEYS: 'client-key-abcdefghijkl',
      ADMIN_API_KEY: 'admin-key-abcdefghijklm',
      HOST: '127.0.0.1',
    });
    await get(port, '/health');
    expect((await get(port, '/metrics')).status).toBe(401);
    const res = await get(metricsPort, '/metrics');
    expect(res.status).toBe(200);
    expect(res.body).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} 1/,
    );
    started.child.kill('SIGTERM');
    expect((await started.exited).code).toBe(0);
  });
});

describe.runIf(hasPostgres)('cluster mode', () => {
  it('runs two workers that both serve, and /metrics aggregates them', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    started = await startMain({
      PORT: String(port),
      WEB_CONCURRENCY: '2',
      DATABASE_URL: DATABASE_URL ?? '',
      ENABLE_PROMETHEUS: 'true',
      PROMETHEUS_PORT: String(metricsPort),
    });
    expect(started.stdout()).toContain('2 workers');
    const workers = new Set<number>();
    let requests = 0;
    const deadline = Date.now() + 15_000;
    // Both workers must be listening before connections spread; keep asking until both answered.
    while ((workers.size < 2 || requests < 20) && Date.now() < deadline) {
      const res = await get(port, '/health');
      expect(res.status).toBe(200);
      workers.add(JSON.parse(res.body).worker);
      requests++;
    }
    expect(workers.size).toBe(2);
    for (const source of [port, metricsPort]) {
      const text = (await get(source, '/metrics')).body;
      const match = text.match(
        /http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} (\d+)/,
      );
      expect(Number(match?.[1])).toBe(requests);
    }
    started.child.kill('SIGTERM');
    expect((await started.exited).code).toBe(0);
  });
});

describe('runtime', () => {
  it('runs on the Node 24 pinned in devDependencies', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });
});
