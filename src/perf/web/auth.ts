/**
 * API-key authentication by route class.
 *
 * Keys are never compared as strings: each configured key is hashed once at start-up (SHA-256),
 * and a presented key is hashed and looked up by digest. The lookup touches only the digest, so
 * its timing says nothing about the secret, and it stays O(1) however many keys are configured.
 * The principal's id is a short digest prefix: safe to log, to label metrics with and to use as
 * a tenant in cache keys.
 */
import { hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AppError, ForbiddenError, UnauthorizedError } from '../errors.ts';
import { routedPath } from './path.ts';

export type PrincipalKind = 'anonymous' | 'client' | 'admin';

export interface Principal {
  kind: PrincipalKind;
  /** `anonymous`, or `key_` + 12 hex characters of the key's SHA-256. */
  id: string;
}

export interface AuthOptions {
  clientKeys: readonly string[];
  adminKey?: string | undefined;
  /** Path prefixes that need a client or admin key. @default ['/v1/'] */
  clientPrefixes?: readonly string[];
  /** Path prefixes (or exact paths) that need the admin key. @default ['/admin', '/metrics'] */
  adminPrefixes?: readonly string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

const kPrincipal = Symbol('principal');
/** The principal of requests to routes that need no key (and of every request when auth is off). */
export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', id: 'anonymous' });

function digest(key: string): string {
  return hash('sha256', key, 'hex');
}

/**
 * The principal of a request to `url` with `headers`, or the error it is answered with. Requests
 * to routes that need no key are anonymous.
 */
export type Authenticate = (url: string, headers: IncomingHttpHeaders) => Principal | AppError;

/** Reads a key from `Authorization: Bearer KEY` or `x-api-key: KEY`. */
function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (typeof header === 'string') {
    const space = header.indexOf(' ');
    if (space > 0 && header.slice(0, space).toLowerCase() === 'bearer') return header.slice(space + 1).trim();
    return undefined;
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

/** A prefix matches itself and paths below it; the forms are made once. */
interface Prefix {
  exact: string;
  below: string;
}

function prefixes(list: readonly string[]): Prefix[] {
  return list.map((p) => ({ exact: p, below: p.endsWith('/') ? p : `${p}/` }));
}

/** True when the path the router matches for `url` (routedPath: decoded, no query) is under one of `list`. */
function matches(url: string, list: readonly Prefix[]): boolean {
  const path = routedPath(url);
  for (const p of list) {
    if (path === p.exact || path.startsWith(p.below)) return true;
  }
  return false;
}

export function installAuth(app: FastifyInstance, options: AuthOptions): Authenticate {
  const principals = new Map<string, Principal>();
  for (const key of options.clientKeys) {
    const d = digest(key);
    principals.set(d, { kind: 'client', id: `key_${d.slice(0, 12)}` });
  }
  if (options.adminKey !== undefined) {
    const d = digest(options.adminKey);
    principals.set(d, { kind: 'admin', id: `key_${d.slice(0, 12)}` });
  }
  // Keys seen before, as presented, to their principal: a valid key is hashed once, not per
  // request. Only valid keys go in, so it holds at most the configured keys.
  const seen = new Map<string, Principal>();
  const principalOf = (key: string): Principal | undefined => {
    let principal = seen.get(key);
    if (principal === undefined) {
      principal = principals.get(digest(key));
      if (principal !== undefined) seen.set(key, principal);
    }
    return principal;
  };
  const enabled = principals.size > 0;
  const clientPrefixes = prefixes(options.clientPrefixes ?? ['/v1/']);
  const adminPrefixes = prefixes(options.adminPrefixes ?? ['/admin', '/metrics']);
  const adminConfigured = options.adminKey !== undefined;

  // Fastify forbids object defaults on decorators (they would be shared between requests), so the
  // default principal comes from a getter and each authenticated request stores its own.
  app.decorateRequest('principal', {
    getter(this: FastifyRequest & { [kPrincipal]?: Principal }) {
      return this[kPrincipal] ?? ANONYMOUS;
    },
    setter(this: FastifyRequest & { [kPrincipal]?: Principal }, value: Principal) {
      this[kPrincipal] = value;
    },
  });
  const authenticate: Authenticate = (url, headers) => {
    if (!enabled) return ANONYMOUS;
    const needsAdmin = matches(url, adminPrefixes);
    if (!needsAdmin && !matches(url, clientPrefixes)) return ANONYMOUS;
    const key = presentedKey(headers);
    const principal = key === undefined || key === '' ? undefined : principalOf(key);
    if (principal === undefined) {
      return new UnauthorizedError(
        key === undefined || key === ''
          ? 'this route needs an API key: send Authorization: Bearer <key>'
          : 'the API key is not valid',
      );
    }
    if (needsAdmin && principal.kind !== 'admin') {
      return new ForbiddenError(
        adminConfigured
          ? 'this route needs the admin key (ADMIN_API_KEY)'
          : 'this route needs the admin key, and none is configured: set ADMIN_API_KEY on the server',
      );
    }
    return principal;
  };
  if (!enabled) return authenticate;

  // A callback hook, not an async one: no promise per request on the path every call takes.
  app.addHook('onRequest', (request, _reply, done) => {
    const who = authenticate(request.url, request.headers);
    if (who instanceof Error) return done(who);
    if (who !== ANONYMOUS) request.principal = who;
    done();
  });
  return authenticate;
}
