import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deepFreeze,
  installErrorHandling,
  installJsonBodyMemo,
  installJsonParser,
  JsonBodyMemo,
} from '../src/perf/web/index.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function build(options?: { maxEntries?: number; maxBodyBytes?: number }) {
  const seen: unknown[] = [];
  const a = Fastify({ logger: false });
  installErrorHandling(a);
  installJsonParser(a);
  let memo!: JsonBodyMemo;
  a.register(async (scope) => {
    memo = installJsonBodyMemo(scope, options);
    scope.post('/memo', async (request) => {
      seen.push(request.body);
      return { frozen: Object.isFrozen(request.body) };
    });
  });
  // Outside the scope: Fastify's own parser (with its refusals explained), bodies stay writable.
  a.post('/plain', async (request) => ({ frozen: Object.isFrozen(request.body) }));
  await a.ready();
  app = a;
  return { app: a, seen, memo: () => memo };
}

const post = (a: FastifyInstance, url: string, payload: string, type = 'application/json') =>
  a.inject({ method: 'POST', url, payload, headers: { 'content-type': type } });

describe('JSON body memo', () => {
  it('hands the same frozen object to requests with the same text', async () => {
    const { app: a, seen, memo } = await build();
    const text = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect((await post(a, '/memo', text)).json()).toEqual({ frozen: true });
    expect((await post(a, '/memo', text, 'application/json; charset=utf-8')).json()).toEqual({
      frozen: true,
    });
    await post(a, '/memo', `${text} `);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[2]).not.toBe(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
    expect(memo().stats()).toEqual({ hits: 1, misses: 2, entries: 2 });
    const body = seen[0] as { messages: { content: string }[] };
    expect(Object.isFrozen(body.messages[0])).toBe(true);
    expect(() => {
      body.messages[0]!.content = 'changed';
    }).toThrow(TypeError);
  });

  it('leaves routes outside its scope with the default parser', async () => {
    const { app: a } = await build();
    expect((await post(a, '/plain', '{"a":1}')).json()).toEqual({ frozen: false });
  });

  it('refuses bad bodies with what is wrong, in and out of its scope alike, and never remembers them', async () => {
    const { app: a, memo } = await build();
    const cases: [string, string, string][] = [
      ['{"a":', 'INVALID_JSON', 'the request body is not valid JSON: Unexpected end of JSON input'],
      ['{"__proto__":{"x":1}}', 'INVALID_REQUEST', 'prototype poisoning'],
      ['{"constructor":{"prototype":{"x":1}}}', 'INVALID_REQUEST', 'prototype poisoning'],
    ];
    for (const [payload, code, message] of cases) {
      const ours = await post(a, '/memo', payload);
      const plain = await post(a, '/plain', payload);
      expect(ours.statusCode).toBe(400);
      expect(ours.json().error.code).toBe(code);
      expect(ours.json().error.message).toContain(message);
      expect(ours.json()).toEqual(plain.json());
      expect((await post(a, '/memo', payload)).statusCode).toBe(400);
    }
    expect(memo().stats().entries).toBe(0);
  });

  it('refuses a content-encoded body with 415, even when the same text is remembered', async () => {
    const { app: a } = await build();
    expect((await post(a, '/memo', '{"a":1}')).statusCode).toBe(200);
    for (const url of ['/memo', '/plain']) {
      const res = await a.inject({
        method: 'POST',
        url,
        payload: '{"a":1}',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      });
      expect(res.statusCode, url).toBe(415);
      expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(res.json().error.message).toContain('content-encoding: gzip');
      const identity = await a.inject({
        method: 'POST',
        url,
        payload: '{"a":1}',
        headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
      });
      expect(identity.statusCode, url).toBe(200);
    }
  });

  it('does not remember long bodies or non-objects, and forgets the oldest past maxEntries', async () => {
    const { app: a, seen, memo } = await build({ maxEntries: 2, maxBodyBytes: 64 });
    const long = JSON.stringify({ text: 'x'.repeat(100) });
    await post(a, '/memo', long);
    await post(a, '/memo', long);
    expect(seen[0]).not.toBe(seen[1]);
    expect(Object.isFrozen(seen[0])).toBe(false);
    await post(a, '/memo', '42');
    expect(memo().stats().entries).toBe(0);
    for (const n of [1, 2, 3]) await post(a, '/memo', `{"n":${n}}`);
    expect(memo().stats().entries).toBe(2);
    const before = seen.length;
    await post(a, '/memo', '{"n":1}'); // forgotten: parsed again
    await post(a, '/memo', '{"n":3}'); // kept
    expect(memo().stats()).toMatchObject({ entries: 2 });
    expect(seen[before]).not.toBe(seen[before - 3]);
    expect(seen[before + 1]).toBe(seen[before - 1]);
  });

  it('rejects a bad size and freezes nested values', () => {
    expect(() => new JsonBodyMemo({ maxEntries: 0 })).toThrow(/maxEntries/);
    const v = deepFreeze({ a: [{ b: 1 }], c: null });
    expect(Object.isFrozen(v.a)).toBe(true);
    expect(Object.isFrozen(v.a[0])).toBe(true);
  });
});
