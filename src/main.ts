/**
 * Process entry: read the config, then either serve (one process) or run the cluster primary
 * that forks WEB_CONCURRENCY workers, restarts crashed ones, aggregates their metrics and shuts
 * them down gracefully.
 */
import cluster, { type Worker } from 'node:cluster';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { gracefulClose } from './lifecycle.ts';
import {
  createMetricsRegistry,
  type MetricsServer,
  serveClusterMetrics,
  startMetricsServer,
} from './perf/metrics/index.ts';
import { buildServer, type Part, VERSION } from './server.ts';

function fail(lines: string[], code: number): never {
  for (const line of lines) process.stderr.write(`versus: ${line}\n`);
  process.exit(code);
}

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.problems, 2);
    throw err;
  }
}

function banner(config: Config, url: string, parts: Part[], metricsPort: number | undefined): string {
  const clustered = config.server.webConcurrency > 1;
  const auth =
    config.auth.apiKeys.length > 0 || config.auth.adminApiKey !== undefined
      ? `on: ${config.auth.apiKeys.length} client key(s)${config.auth.adminApiKey ? ' + admin key' : ', no admin key (/admin and /metrics closed)'}`
      : `off: no API_KEYS or ADMIN_API_KEY, so listening on ${config.server.host} only`;
  const processes =
    config.server.webConcurrency > 1 ? `${config.server.webConcurrency} workers` : '1 process';
  const lines = [
    // Fastify reports one address; on a wildcard host say that every interface listens.
    `Versus ${VERSION} listening on ${url}${config.server.host === '0.0.0.0' || config.server.host === '::' ? ` and every other interface (HOST=${config.server.host})` : ''} (${processes}, Node ${process.version})`,
    `  auth       ${auth}`,
    ...parts.map((p) => `  ${p.name.padEnd(10)} ${p.summary}`),
    `  metrics    GET /metrics${clustered ? ' (aggregated over workers)' : ''}${metricsPort !== undefined ? `, and without auth on port ${metricsPort}` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Serves in this process (single mode, or one cluster worker). */
async function serve(config: Config): Promise<void> {
  const metrics = createMetricsRegistry();
  let app: Awaited<ReturnType<typeof buildServer>>;
  try {
    app = await buildServer(config, { metrics });
  } catch (err) {
    fail([`start-up failed: ${err instanceof Error ? err.message : String(err)}`], 1);
  }
  let address: string;
  try {
    address = await app.listen({
      host: config.server.host,
      port: config.server.port,
      backlog: config.server.listenBacklog,
    });
  } catch (err) {
    await app.close().catch(() => {});
    fail([`cannot listen on ${config.server.host}:${config.server.port}: ${(err as Error).message}`], 1);
  }

  let metricsServer: MetricsServer | undefined;
  if (config.monitoring.prometheusEnabled && !cluster.isWorker) {
    metricsServer = await startMetricsServer({
      host: config.server.host,
      port: config.monitoring.prometheusPort,
      contentType: metrics.contentType,
      metrics: () => metrics.metrics(),
      onError: (err) => app.log.error({ err }, 'metrics scrape failed'),
    });
  }
  // Open the embedded database now, in the background: the first request should not pay for it.
  app.versus.db
    .ping()
    .catch((err: Error) =>
      app.log.error({ err: { message: err.message } }, 'the database could not be opened'),
    );
  if (!cluster.isWorker) {
    process.stdout.write(banner(config, address, app.versus.parts, metricsServer?.port));
  } else if (cluster.worker?.id === 1) {
    process.send?.({ type: 'versus:listening', address, parts: app.versus.parts });
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const result = await gracefulClose(app, config.server.shutdownTimeoutMs);
    await metricsServer?.close();
    app.log.info({ ms: result.ms, forced: result.forced }, 'shut down');
    process.exit(result.forced ? 1 : 0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Cluster primary: forks, restarts with backoff, aggregates metrics, forwards shutdown. */
async function primary(config: Config): Promise<void> {
  const aggregator = serveClusterMetrics();
  let metricsServer: MetricsServer | undefined;
  if (config.monitoring.prometheusEnabled) {
    metricsServer = await startMetricsServer({
      host: config.server.host,
      port: config.monitoring.prometheusPort,
      contentType: aggregator.contentType,
      metrics: () => aggregator.clusterMetrics(),
    });
  }

  const workers = new Set<Worker>();
  let stopping = false;
  let crashes = 0;
  let lastCrash = 0;

  const fork = () => {
    const worker = cluster.fork();
    workers.add(worker);
    worker.on('message', (message: { type?: string; address?: string; parts?: Part[] }) => {
      if (message?.type === 'versus:listening' && message.address !== undefined) {
        process.stdout.write(banner(config, message.address, message.parts ?? [], metricsServer?.port));
      }
    });
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) {
        if (workers.size === 0) process.exit(0);
        return;
      }
      // A worker that dies soon after the previous crash waits longer before it is replaced, so
      // a crash loop does not spin the CPU.
      const now = Date.now();
      crashes = now - lastCrash < 30_000 ? crashes + 1 : 1;
      lastCrash = now;
      const delay = Math.min(100 * 2 ** (crashes - 1), 30_000);
      process.stderr.write(
        `versus: worker ${worker.process.pid} exited (${signal ?? code}); replacing it in ${delay} ms\n`,
      );
      setTimeout(fork, delay).unref();
    });
  };
  for (let i = 0; i < config.server.webConcurrency; i++) fork();

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    void metricsServer?.close();
    if (workers.size === 0) process.exit(0);
    for (const worker of workers) worker.process.kill(signal);
    // Workers enforce their own deadline; this is the backstop if one hangs.
    setTimeout(() => process.exit(1), config.server.shutdownTimeoutMs + 5000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const config = readConfig();
if (config.server.webConcurrency > 1 && cluster.isPrimary) {
  await primary(config);
} else {
  await serve(config);
}
