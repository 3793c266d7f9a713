import { defineError } from '../errors.ts';

export const PerformanceFailingError = defineError(
  'PERFORMANCE_FAILING',
  503,
  'At least one performance target is missed by far over the last 5 minutes (p95 above twice its target, memory above twice its budget, or 5xx rate above five times its target); `checks` has each target and its measured value.',
  'Look at the failing checks and GET /admin/performance (alerts, recommendations); scale out or fix the named cause.',
);
export const MonitoringDisabledError = defineError(
  'MONITORING_DISABLED',
  404,
  'Performance monitoring is off on this instance, so its admin views and actions are not available.',
  'Set ENABLE_PERFORMANCE_MONITORING=true (the default) and restart.',
);
