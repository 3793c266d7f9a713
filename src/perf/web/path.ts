/**
 * The path of a request URL as the router matches it: before the query string (`?`) or a
 * fragment (`#`, which find-my-way also treats as the end of the path), percent-decoded.
 *
 * Anything that decides by path what a request may do (authentication, rate limiting) must
 * decide on this and not on the raw URL: the router decodes `/%61dmin/performance` to
 * `/admin/performance` and routes it there, so a prefix test on the raw URL would let it through
 * unauthenticated. Decoding here is at least as thorough as the router's (`%2F` becomes `/` too),
 * so a path that reaches a protected route is always classified as protected; a path that does
 * not decode is left as it is, and the router refuses it (400).
 */
export function routedPath(url: string): string {
  let end = url.indexOf('?');
  const hash = url.indexOf('#');
  if (hash !== -1 && (end === -1 || hash < end)) end = hash;
  const path = end === -1 ? url : url.slice(0, end);
  if (path.indexOf('%') === -1) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
