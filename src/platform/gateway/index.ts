export type { CachedCompletion, ResponseStore } from './cache.ts';
export { UnknownModelError } from './errors.ts';
export type { CompletionRecord, GatewayHooks, RouteDecision } from './hooks.ts';
export { type GatewayOptions, registerGatewayRoutes } from './routes.ts';
export { type ChatCompletionRequest, isObject, validateChatRequest } from './schema.ts';
