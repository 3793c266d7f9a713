export {
  breakerSource,
  cacheSource,
  createTransitionLog,
  type TransitionLog,
} from './adapters.ts';
export { ALERT_RULES, MIN_LOOKUPS, MIN_REQUESTS } from './alert-rules.ts';
export {
  type Alert,
  type AlertCheck,
  type AlertEngine,
  type AlertRule,
  type AlertTransition,
  createAlertEngine,
  type Severity,
} from './alerts.ts';
export type { OperationContext } from './context.ts';
export { MonitoringDisabledError, PerformanceFailingError } from './errors.ts';
export { installRequestTiming } from './http.ts';
export { toSnakeCase } from './json.ts';
export {
  type ActionResult,
  createPerformanceManager,
  PerformanceManager,
  type PerformanceManagerOptions,
} from './manager.ts';
export {
  RECOMMENDATION_RULES,
  type Recommendation,
  type RecommendationRule,
  recommend,
} from './recommendations.ts';
export { ACTION_NAMES, ACTIONS, type ActionName, type PerformanceReport } from './report.ts';
export type { CacheLayerView, MemoryView, PerformanceSnapshot, PoolView, Targets } from './snapshot.ts';
export type {
  BreakerSource,
  BreakerStateName,
  BreakerStats,
  BreakerTransition,
  CacheLayerStats,
  CacheSource,
  DatabaseSource,
  DatabaseStats,
  DbPoolStats,
  HttpClientsSource,
  PoolSource,
  SlowQuery,
} from './sources.ts';
export { evaluateTargets, type PerformanceHealth, type TargetCheck } from './targets.ts';
export { type Trend, trend } from './trends.ts';
export { createWindowedHistogram, type LatencySummary, type WindowedHistogram } from './window.ts';
