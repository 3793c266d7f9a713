export { type AuthOptions, installAuth, type Principal, type PrincipalKind } from './auth.ts';
export { installErrorHandling, sendError, toAppError } from './errors.ts';
export { installHttpMetrics } from './http-metrics.ts';
export { genRequestId } from './request-id.ts';
