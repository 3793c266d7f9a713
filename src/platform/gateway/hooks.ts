/** The extension points of the gateway: routing decisions in, completion records out. */
import type { ChatCompletionRequest } from './schema.ts';

export interface RouteDecision {
  /** The model to call (`provider/model`), replacing the request's. */
  model: string;
  /** Prepended as a system message. */
  systemPrompt?: string;
  /** Sampling parameters merged over the request's. */
  params?: Record<string, unknown>;
  experimentId?: string;
  /** Sent back as `x-variant`. */
  variant?: string;
  unit?: string;
  /** Opts the request into the response cache whatever its temperature. */
  cacheable?: boolean;
  cacheTtlMs?: number;
  /** Models tried, in order, when `model` is unavailable; replaces the configured fallbacks. */
  fallbacks?: string[];
}

export interface CompletionRecord {
  requestId: string;
  experimentId?: string;
  variant?: string;
  unit?: string;
  /** The model asked for (after routing); `fallbackModel` says which one served when different. */
  model: string;
  status: number;
  errorCode?: string;
  latencyMs: number;
  ttftMs?: number;
  promptTokens: number;
  completionTokens: number;
  cacheHit: boolean;
  fallback: boolean;
  fallbackModel?: string;
  stream: boolean;
}

export interface GatewayHooks {
  /** Called per request before routing; may throw an AppError (e.g. 404 unknown experiment). */
  route?(ctx: {
    body: ChatCompletionRequest;
    headers: Record<string, string | string[] | undefined>;
    principalId: string;
    requestId: string;
  }): RouteDecision | undefined | Promise<RouteDecision | undefined>;
  /** Called once per gateway request after the reply is complete (streams too); must not throw. */
  record?(record: CompletionRecord): void;
}
