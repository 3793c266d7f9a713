/** The anchor for HTTP benchmarks: a bare Fastify hello-world with default settings, no logger. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
app.get('/health', async () => ({ hello: 'world' }));
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3001) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
