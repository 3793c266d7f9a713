export {
  createHttpClients,
  type HttpClients,
  type HttpClientsOptions,
  type Upstream,
  type UpstreamOptions,
  type UpstreamRequest,
  type UpstreamResponse,
} from './clients.ts';
export {
  statusError,
  transportError,
  UpstreamAuthError,
  UpstreamFailedError,
  UpstreamRateLimitedError,
  UpstreamRejectedError,
  UpstreamUnreachableError,
} from './errors.ts';
