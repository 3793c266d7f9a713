export {
  type Authenticate,
  type AuthOptions,
  installAuth,
  type Principal,
  type PrincipalKind,
} from './auth.ts';
export {
  type BatchRouteOptions,
  type BatchRun,
  type BatchRunOptions,
  BatchTooLargeError,
  canonicalJson,
  installBatch,
  runBatch,
} from './batch.ts';
export {
  CachedBody,
  JSON_TYPE,
  type PrecompressedBodies,
  precompressedBodies,
  TEXT_MAX_BYTES,
} from './cached-body.ts';
export { type Compression, type CompressionOptions, etagMatches, installCompression } from './compression.ts';
export { type CompressionMode, type Compressor, createCompressor, levelFor } from './compressor.ts';
export {
  createNegotiator,
  ENCODINGS,
  type Encoding,
  isCompressible,
  type Negotiated,
  type Negotiator,
} from './encoding.ts';
export {
  clientErrorHandler,
  frameworkErrors,
  installErrorHandling,
  MAX_PATH_PARAM_LENGTH,
  sendError,
  toAppError,
} from './errors.ts';
export {
  createFrontLane,
  type FrontLane,
  type FrontLaneOptions,
  type FrontLaneStats,
  type LaneAnswer,
  type LaneContext,
  type LaneLookup,
  type LaneParts,
} from './front-lane.ts';
export {
  type HttpCacheOptions,
  type HttpCacheRouteConfig,
  installHttpCache,
  weakEtag,
} from './http-cache.ts';
export { installHttpMetrics, type ObserveReply } from './http-metrics.ts';
export {
  deepFreeze,
  installJsonBodyMemo,
  installJsonParser,
  JsonBodyMemo,
  type JsonBodyMemoOptions,
  type JsonBodyMemoStats,
} from './json-body.ts';
export {
  installLoadShedding,
  type LoadShedder,
  type LoadSheddingOptions,
  type LoadState,
  OverloadedError,
} from './load-shedding.ts';
export {
  decide as rateLimitDecision,
  installRateLimit,
  type RateLimitDecision,
  RateLimitedError,
  type RateLimiter,
  type RateLimitOptions,
} from './rate-limit.ts';
export { clientRequestId, genRequestId } from './request-id.ts';
export { LazyRequestLogger, lazyChildLogger } from './request-logger.ts';
