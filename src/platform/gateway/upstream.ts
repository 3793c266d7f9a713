/**
 * Calls a model through its resilience policy, falling back along the chain when its breaker is
 * open or its retries are exhausted. Time spent waiting on providers is measured, so the gateway
 * can report its own overhead without it.
 */
import { failureKind, type Resilience, type ServiceOptions } from '../../perf/resilience/index.ts';
import type { Catalogue, ChatMessage, Completion, CompletionParams, Delta } from '../providers/index.ts';

export interface ChainResult<T> {
  value: T;
  /** The model that served. */
  model: string;
  /** The model first asked for, when a fallback served. */
  fallbackFrom: string | undefined;
}

export interface CallInput {
  chain: readonly string[];
  messages: ChatMessage[];
  params: CompletionParams;
  signal: AbortSignal;
  /** Accumulates ms spent in provider calls, backoff and provider queues (also when the call fails). */
  timing: { upstreamMs: number };
}

function fallbackWorthy(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  if (code === 'CIRCUIT_OPEN' || code === 'BULKHEAD_FULL' || code === 'UPSTREAM_TIMEOUT') return true;
  const kind = failureKind(err);
  return kind === 'server' || kind === 'connect' || kind === 'rate_limited' || kind === 'timeout';
}

export class UpstreamCaller {
  readonly #catalogue: Catalogue;
  readonly #resilience: Resilience;
  readonly #serviceOptions: (model: string) => ServiceOptions | undefined;

  constructor(
    catalogue: Catalogue,
    resilience: Resilience,
    serviceOptions: (model: string) => ServiceOptions | undefined,
  ) {
    this.#catalogue = catalogue;
    this.#resilience = resilience;
    this.#serviceOptions = serviceOptions;
  }

  complete(input: CallInput): Promise<ChainResult<Completion>> {
    return this.#call(input, (route, ctxSignal) =>
      route.provider.complete({
        model: route.upstreamModel,
        messages: input.messages,
        params: input.params,
        signal: ctxSignal,
      }),
    );
  }

  stream(input: CallInput): Promise<ChainResult<AsyncIterable<Delta>>> {
    return this.#call(input, (route, ctxSignal) =>
      route.provider.stream({
        model: route.upstreamModel,
        messages: input.messages,
        params: input.params,
        signal: ctxSignal,
      }),
    );
  }

  async #call<T>(
    input: CallInput,
    run: (route: NonNullable<ReturnType<Catalogue['resolve']>>, signal: AbortSignal) => Promise<T>,
  ): Promise<ChainResult<T>> {
    let lastError: unknown;
    for (let i = 0; i < input.chain.length; i++) {
      const model = input.chain[i]!;
      const route = this.#catalogue.resolve(model);
      if (route === undefined) continue; // a fallback that is not configured here
      const policy = this.#resilience.service(model, this.#serviceOptions(model));
      const started = performance.now();
      try {
        const value = await policy.execute((ctx) => run(route, ctx.signal), input.signal);
        input.timing.upstreamMs += performance.now() - started;
        return { value, model, fallbackFrom: i > 0 ? input.chain[0] : undefined };
      } catch (err) {
        input.timing.upstreamMs += performance.now() - started;
        lastError = err;
        if (input.signal.aborted || !fallbackWorthy(err)) break;
      }
    }
    throw lastError ?? new Error('no model in the chain is routable');
  }
}
