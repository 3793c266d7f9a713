/**
 * Versus's full HTTP stack (buildServer: request ids, auth, rate limiter, metrics, ETag and
 * compression hooks) with two extra routes serving the same ~10 KB JSON body:
 *   POST /cached   from a CachedBody (precompressed once per coding, as a cache hit is served)
 *   POST /dynamic  as a fresh object each time (compressed per response by the onSend hook)
 */
import { loadConfig } from '../../src/config.ts';
import { precompressedBodies } from '../../src/perf/web/index.ts';
import { buildServer } from '../../src/server.ts';

const WORDS = (
  'the a of to and in is it that for on with as was be by this are from or at an not but have which one ' +
  'model answer variant latency cost token request response cache user experiment prompt result test ' +
  'quick brown fox jumps over lazy dog system value better worse faster slower because however therefore'
).split(' ');

/** Text with the word-level variety of an LLM answer (a fixed pseudo-random sequence). */
function completion(): object {
  let content = '';
  let seed = 42;
  while (content.length < 9000) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    content += `${WORDS[seed % WORDS.length]}${seed % 17 === 0 ? '. ' : ' '}`;
  }
  return {
    id: 'chatcmpl-load',
    object: 'chat.completion',
    created: 1764230000,
    model: 'mock/fast',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 2000, total_tokens: 2012 },
  };
}

const app = await buildServer(loadConfig());
const cached = completion();
const bodies = precompressedBodies();
app.post('/cached', (request, reply) => app.compression.send(request, reply, bodies.of(cached)));
app.post('/dynamic', async () => completion());
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3002) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
