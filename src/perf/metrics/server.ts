import { createServer, type Server } from 'node:http';

export interface MetricsServerOptions {
  host: string;
  port: number;
  contentType: string;
  /** Produces the Prometheus text for one scrape. */
  metrics: () => Promise<string>;
  onError?: (err: Error) => void;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A bare node:http listener for Prometheus scrapes on its own port (no auth, no framework):
 * `GET /metrics` (or `/`) answers the metrics text, anything else 404.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"error":{"code":"NOT_FOUND","message":"metrics are served at GET /metrics"}}');
      return;
    }
    options.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': options.contentType });
        res.end(text);
      },
      (err: Error) => {
        options.onError?.(err);
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"error":{"code":"INTERNAL_ERROR","message":"metrics collection failed"}}');
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
