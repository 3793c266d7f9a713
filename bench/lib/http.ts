/** HTTP load helpers: servers under test and autocannon, each in its own process. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface LoadResult {
  requests: number;
  rps: number;
  latency: { p50: number; p90: number; p97_5: number; p99: number; max: number };
  /** Responses with a 2xx status. */
  ok2xx: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  duration_s: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  pipelining?: number;
  /** Requests per second in total; unset: as fast as possible. */
  overallRate?: number;
  /** Requests each connection cycles through (autocannon `requests`); overrides method/body/headers. */
  requests?: { method?: string; path: string; headers?: Record<string, string>; body?: string }[];
  /** Replace `[<id>]` in bodies with a unique id per request (autocannon `idReplacement`). */
  idReplacement?: boolean;
  /** Seconds before a request counts as a timeout. @default 10 */
  timeout?: number;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs autocannon in a child process and returns its summary. */
export function load(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [`${ROOT}bench/lib/autocannon-child.ts`, JSON.stringify(options)],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: (options.duration + 60) * 1000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`autocannon failed: ${err.message}\n${stderr}`));
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(line) as LoadResult);
        } catch {
          reject(new Error(`autocannon printed no result: ${stdout}${stderr}`));
        }
      },
    );
  });
}

export interface Target {
  name: string;
  url: string;
  child: ChildProcess;
  /** Resident set size of the server process in MB (from /proc). */
  rssMb(): Promise<number>;
  /** CPU time (user + system, every thread) the server process has used, ms (from /proc). */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts a server process: `script` (relative to the repo root) with `env`, waiting until `url`
 * answers. The script must listen on the PORT it is given.
 */
export async function startTarget(
  name: string,
  script: string,
  env: Record<string, string> = {},
  path = '/health',
  args: string[] = [],
): Promise<Target> {
  const port = await freePort();
  const child = spawn(process.execPath, [...args, `${ROOT}${script}`], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'warn',
      DATA_DIR: ':memory:',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited while starting: ${stderr}`);
    try {
      const res = await fetch(`${url}${path}`);
      await res.arrayBuffer();
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start in 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    url,
    child,
    async rssMb() {
      const { readFile } = await import('node:fs/promises');
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
      return Math.round(kb / 102.4) / 10;
    },
    async cpuMs() {
      const { readFile } = await import('node:fs/promises');
      // Fields 14 and 15 (utime, stime) after the command name, in clock ticks of 10 ms.
      const fields = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

/**
 * One load against `target`, with the server's CPU time (user + system) per request in µs: what a
 * request costs the server, whatever the load generator sharing the machine could send.
 */
export async function loadWithCpu(
  target: Target,
  options: LoadOptions,
): Promise<{ result: LoadResult; cpuUs: number }> {
  const before = await target.cpuMs();
  const result = await load(options);
  const cpuMs = (await target.cpuMs()) - before;
  return { result, cpuUs: (1000 * cpuMs) / Math.max(1, result.requests) };
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface RateResult {
  requests: number;
  rps: number;
  latency: Percentiles;
  /** Percentiles of the numeric response header asked for, when the server sent it. */
  header?: Percentiles;
  errors: number;
  non2xx: number;
}

export interface RateOptions {
  url: string;
  body: string;
  /** Requests per second offered (open loop). */
  rate: number;
  duration: number;
  connections: number;
  header?: string;
  headers?: Record<string, string>;
  /** Seconds sent before measuring. @default 1 */
  warmup?: number;
}

/** Fixed-rate POST load in a child process, reading a numeric header (bench/lib/overhead-child.ts). */
export function loadAtRate(options: RateOptions): Promise<RateResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [`${ROOT}bench/lib/overhead-child.ts`, JSON.stringify(options)],
      {
        cwd: ROOT,
        maxBuffer: 16 * 1024 * 1024,
        timeout: (options.duration + (options.warmup ?? 1) + 60) * 1000,
      },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`load generator failed: ${err.message}\n${stderr}`));
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as RateResult);
        } catch {
          reject(new Error(`load generator printed no result: ${stdout}${stderr}`));
        }
      },
    );
  });
}
