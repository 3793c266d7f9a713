/**
 * The anchors for HTTP benchmarks: a bare Fastify app with default settings, no logger.
 *
 * - `GET /` (and `/health`): the hello-world every HTTP goal is stated against.
 * - `POST /chat`: the same kind of request as a chat completion served from cache, with nothing
 *   behind it: Fastify's default JSON parser reads the body, and the answer is a fixed
 *   chat.completion of about the size of Versus's cache-hit answer. It shows what Fastify itself
 *   costs for a JSON POST, so the gap between it and Versus is Versus's own work.
 */
import Fastify from 'fastify';

const answer = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-00000000-0000-4000-8000-000000000000',
    object: 'chat.completion',
    created: 1_795_800_000,
    model: 'mock/fast',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content:
            'Latency beta red red dog blue a green beta a latency delta amber a result result stream request a experiment lazy.',
        },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 17, completion_tokens: 21, total_tokens: 38 },
  }),
);

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
app.get('/health', async () => ({ hello: 'world' }));
app.post('/chat', (request, reply) => {
  if (typeof request.body !== 'object' || request.body === null) return reply.code(400).send();
  return reply.type('application/json; charset=utf-8').send(answer);
});
// The listen backlog Versus uses (LISTEN_BACKLOG's default), so that at 1,000 connections both
// serve every client from the start (docs/operations.md, Connections).
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3001), backlog: 2048 });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
