/**
 * The set of service policies of one process: get-or-create by service name, the
 * `circuit_breaker_state{service}` gauge, transition logs, manual reset and failure correlation.
 */
import type { MetricsRegistry } from '../metrics/index.ts';
import type { BreakerState, Transition } from './circuit.ts';
import { FailureCorrelator, type Incident } from './correlation.ts';
import { resolveOptions, type ServiceOptions } from './options.ts';
import { ServicePolicy } from './policy.ts';

/** The logging surface used (pino and Fastify loggers fit). */
export interface ResilienceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ResilienceOptions {
  /** Defaults for every service; per-service options are merged over them. */
  defaults?: ServiceOptions;
  metrics?: MetricsRegistry;
  logger?: ResilienceLogger;
  /** Breaker openings this close together form one incident. @default 5000 */
  correlationWindowMs?: number;
  /** Called on every breaker transition, after it is logged. */
  onTransition?: (t: Transition) => void;
}

export interface ServiceStatus {
  service: string;
  state: BreakerState;
  retryAfterMs: number;
  inFlight: number;
  queued: number;
  window: { successes: number; failures: number };
}

export interface Resilience {
  /** The policy of `service`, created with `options` on first use. */
  service(name: string, options?: ServiceOptions): ServicePolicy;
  /** Closes one breaker, or every breaker when `name` is omitted. Returns the services reset. */
  reset(name?: string): string[];
  status(): ServiceStatus[];
  incidents(): Incident[];
  close(): void;
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export function createResilience(options: ResilienceOptions = {}): Resilience {
  const base = options.defaults ?? {};
  resolveOptions({}, base); // reject bad defaults at start-up, not on first call
  const services = new Map<string, ServicePolicy>();
  const log = options.logger;
  const correlator = new FailureCorrelator({
    windowMs: options.correlationWindowMs ?? 5000,
    onIncident: (incident, change) =>
      log?.warn(
        {
          incident: incident.id,
          services: incident.services,
          scope: incident.scope,
          firstAt: new Date(incident.firstAt).toISOString(),
        },
        change === 'opened'
          ? `incident ${incident.id}: ${incident.services[0]} is failing`
          : `incident ${incident.id}: ${incident.services.length} services failing together (${incident.services.join(', ')}); look for a shared cause such as the network`,
      ),
  });

  const gauge = options.metrics?.gauge({
    name: 'circuit_breaker_state',
    help: 'Circuit breaker state per service: 0 closed, 1 half-open, 2 open.',
    labelNames: ['service'] as const,
    aggregator: 'max',
  });
  const removeHook =
    gauge === undefined
      ? undefined
      : options.metrics?.onCollect(gauge, () => {
          for (const [name, policy] of services) gauge.set({ service: name }, STATE_VALUE[policy.state]);
        });

  function onTransition(t: Transition): void {
    const fields = { service: t.service, from: t.from, to: t.to, openForMs: t.openForMs, reason: t.reason };
    if (t.to === 'open') {
      log?.warn(fields, `circuit breaker for ${t.service} opened for ${t.openForMs} ms`);
      correlator.record(t.service);
    } else {
      log?.info(fields, `circuit breaker for ${t.service}: ${t.from} -> ${t.to}`);
    }
    options.onTransition?.(t);
  }

  return {
    service(name, serviceOptions) {
      let policy = services.get(name);
      if (policy === undefined) {
        policy = new ServicePolicy(name, resolveOptions(serviceOptions, base), onTransition);
        services.set(name, policy);
      }
      return policy;
    },
    reset(name) {
      const targets =
        name === undefined ? [...services.values()] : [services.get(name)].filter((p) => p !== undefined);
      for (const policy of targets) policy.reset();
      return targets.map((p) => p.name);
    },
    status() {
      return [...services.values()].map((p) => ({
        service: p.name,
        state: p.state,
        retryAfterMs: p.retryAfterMs,
        inFlight: p.inFlight,
        queued: p.queued,
        window: p.window,
      }));
    },
    incidents: () => correlator.incidents(),
    close() {
      removeHook?.();
      for (const policy of services.values()) policy.close();
    },
  };
}
