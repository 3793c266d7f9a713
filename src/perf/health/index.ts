/**
 * Readiness checks: each configured dependency registers a check; `run()` runs them all in
 * parallel, each bounded by its own timeout, and reports which failed and why.
 */

export type Check = (signal: AbortSignal) => Promise<unknown>;

export interface CheckResult {
  status: 'ok' | 'failed';
  latency_ms: number;
  error?: string;
}

export interface ReadinessReport {
  ok: boolean;
  checks: Record<string, CheckResult>;
  /** Names of the failed checks, in registration order. */
  failed: string[];
}

export interface HealthChecks {
  /** Registers a check; returns the function that removes it. */
  add(name: string, check: Check, options?: { timeoutMs?: number }): () => void;
  run(): Promise<ReadinessReport>;
  names(): string[];
}

/** @param defaultTimeoutMs time allowed to each check. @default 2000 */
export function createHealthChecks(defaultTimeoutMs = 2000): HealthChecks {
  const checks = new Map<string, { check: Check; timeoutMs: number }>();

  async function runOne(check: Check, timeoutMs: number): Promise<CheckResult> {
    const started = performance.now();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      await Promise.race([check(controller.signal), timeout]);
      return { status: 'ok', latency_ms: round(performance.now() - started) };
    } catch (err) {
      return {
        status: 'failed',
        latency_ms: round(performance.now() - started),
        error: err instanceof Error ? err.message : String(err),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    add(name, check, options = {}) {
      if (checks.has(name)) throw new Error(`a readiness check named ${name} already exists`);
      checks.set(name, { check, timeoutMs: options.timeoutMs ?? defaultTimeoutMs });
      return () => {
        checks.delete(name);
      };
    },
    names: () => [...checks.keys()],
    async run() {
      const entries = [...checks.entries()];
      const results = await Promise.all(entries.map(([, c]) => runOne(c.check, c.timeoutMs)));
      const report: ReadinessReport = { ok: true, checks: {}, failed: [] };
      entries.forEach(([name], i) => {
        const result = results[i]!;
        report.checks[name] = result;
        if (result.status === 'failed') {
          report.ok = false;
          report.failed.push(name);
        }
      });
      return report;
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
