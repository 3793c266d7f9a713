/** Response cache (HIT/MISS/BYPASS, refresh, streamed entries, tenants) and coalescing, over sockets. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calls, chat, type Gateway, sseEvents, startGateway, streamedText } from './harness.ts';

const KEY_A = 'tenant-a-key-0123456789';
const KEY_B = 'tenant-b-key-0123456789';
const A = { authorization: `Bearer ${KEY_A}` };
const B = { authorization: `Bearer ${KEY_B}` };

interface Completion {
  choices: { message: { content: string } }[];
}

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ API_KEYS: `${KEY_A},${KEY_B}` });
});
afterAll(() => gw.close());

const content = async (res: Response) => ((await res.json()) as Completion).choices[0]!.message.content;

describe('response cache', () => {
  it('MISS then HIT for a deterministic request, BYPASS otherwise', async () => {
    const model = gw.model('cache');
    const body = chat(model, 'cache me', { temperature: 0 });
    const first = await gw.post(body, A);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const second = await gw.post(body, A);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(await content(second)).toBe(await content(first));
    expect(calls(gw, model)).toBe(1);
    const record = gw.records.find((r) => r.requestId === second.headers.get('x-request-id'));
    expect(record?.cacheHit).toBe(true);

    const random = await gw.post(chat(model, 'cache me', { temperature: 0.7 }), A);
    expect(random.headers.get('x-cache')).toBe('BYPASS');
    const unset = await gw.post(chat(model, 'cache me'), A);
    expect(unset.headers.get('x-cache')).toBe('BYPASS');
    expect(calls(gw, model)).toBe(3);
  });

  it('caches a non-deterministic request that opts in, and never one that opts out', async () => {
    const model = gw.model('optin');
    const body = chat(model, 'opt in', { temperature: 1 });
    expect((await gw.post(body, { ...A, 'x-versus-cache': 'on' })).headers.get('x-cache')).toBe('MISS');
    expect((await gw.post(body, { ...A, 'x-versus-cache': 'on' })).headers.get('x-cache')).toBe('HIT');
    const det = chat(model, 'opt out', { temperature: 0 });
    expect((await gw.post(det, { ...A, 'x-versus-cache': 'off' })).headers.get('x-cache')).toBe('BYPASS');
    expect((await gw.post(det, { ...A, 'cache-control': 'no-store' })).headers.get('x-cache')).toBe('BYPASS');
  });

  it('refreshes the entry on cache-control: no-cache', async () => {
    const model = gw.model('refresh');
    const body = chat(model, 'refresh me', { temperature: 0 });
    await gw.post(body, A);
    const forced = await gw.post(body, { ...A, 'cache-control': 'no-cache' });
    expect(forced.headers.get('x-cache')).toBe('MISS');
    expect(calls(gw, model)).toBe(2);
    expect((await gw.post(body, A)).headers.get('x-cache')).toBe('HIT');
    expect(calls(gw, model)).toBe(2);
  });

  it('keys entries by tenant: one API key never gets another key’s cached answer', async () => {
    const model = gw.model('tenant');
    const body = chat(model, 'same question', { temperature: 0 });
    expect((await gw.post(body, A)).headers.get('x-cache')).toBe('MISS');
    expect((await gw.post(body, B)).headers.get('x-cache')).toBe('MISS');
    expect((await gw.post(body, B)).headers.get('x-cache')).toBe('HIT');
    expect(calls(gw, model)).toBe(2);
  });

  it('keys entries by parameters: a different max_tokens is a different entry', async () => {
    const model = gw.model('params');
    await gw.post(chat(model, 'q', { temperature: 0, max_tokens: 5 }), A);
    expect(
      (await gw.post(chat(model, 'q', { temperature: 0, max_tokens: 6 }), A)).headers.get('x-cache'),
    ).toBe('MISS');
    expect(
      (await gw.post(chat(model, 'q', { temperature: 0, max_tokens: 5 }), A)).headers.get('x-cache'),
    ).toBe('HIT');
  });

  it('stores a streamed answer when complete and replays it as a stream', async () => {
    const model = gw.model('streamed', { tokensPerSecond: 500 });
    const body = chat(model, 'stream and cache', {
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const first = await gw.post(body, A);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const original = await sseEvents(first);
    const replay = await gw.post(body, A);
    expect(replay.headers.get('x-cache')).toBe('HIT');
    expect(replay.headers.get('content-type')).toContain('text/event-stream');
    const replayed = await sseEvents(replay);
    expect(streamedText(replayed.data)).toBe(streamedText(original.data));
    // Same pieces in the same order, same usage, and the terminator.
    expect(replayed.data.length).toBe(original.data.length);
    expect(JSON.parse(replayed.data.at(-2)!).usage).toEqual(JSON.parse(original.data.at(-2)!).usage);
    expect(replayed.data.at(-1)).toBe('[DONE]');
    // The same entry answers a non-streamed request too.
    const json = await gw.post({ ...body, stream: false, stream_options: undefined }, A);
    expect(json.headers.get('x-cache')).toBe('HIT');
    expect(await content(json)).toBe(streamedText(original.data));
    expect(calls(gw, model)).toBe(1);
  });

  it('does not store a stream the client abandoned', async () => {
    const model = gw.model('abandoned', { tokensPerSecond: 20 });
    const body = chat(model, 'abandon', { temperature: 0, stream: true });
    const controller = new AbortController();
    const res = await gw.post(body, A, controller.signal);
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    controller.abort();
    await new Promise((r) => setTimeout(r, 100));
    gw.mock.configure(model.slice(5), { tokensPerSecond: 0 });
    expect((await gw.post(body, A)).headers.get('x-cache')).toBe('MISS');
  });
});

describe('coalescing', () => {
  it('10 identical concurrent cacheable requests make 1 upstream call', async () => {
    const model = gw.model('herd', { latencyMs: 300 });
    const body = chat(model, 'thundering herd', { temperature: 0 });
    const results = await Promise.all(Array.from({ length: 10 }, () => gw.post(body, A)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const contents = new Set(await Promise.all(results.map(content)));
    expect(contents.size).toBe(1);
    expect(calls(gw, model)).toBe(1);
    // One leader called upstream; the others followed it (or, arriving after it finished, hit the cache).
    const leaders = results.filter(
      (r) => r.headers.get('x-cache') === 'MISS' && r.headers.get('x-coalesced') === null,
    );
    expect(leaders).toHaveLength(1);
  });

  it('coalesces streams too, and never across tenants', async () => {
    const model = gw.model('herd-stream', { ttftMs: 100, tokensPerSecond: 1000 });
    const body = chat(model, 'herd stream', { temperature: 0, stream: true });
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () => gw.post(body, A)),
      ...Array.from({ length: 5 }, () => gw.post(body, B)),
    ]);
    const texts = await Promise.all(results.map(async (r) => streamedText((await sseEvents(r)).data)));
    expect(new Set(texts).size).toBe(1);
    expect(calls(gw, model)).toBe(2);
  });
});
