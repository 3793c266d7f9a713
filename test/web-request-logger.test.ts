import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LazyRequestLogger } from '../src/perf/web/index.ts';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).trim().split('\n')) lines.push(JSON.parse(line));
      cb();
    },
  });
  const parent = pino({ level, redact: { paths: ['secret'], censor: '[redacted]' } }, stream);
  return { parent, lines };
}

describe('lazy request logger', () => {
  it('makes no child while every call is below the level', () => {
    const { parent, lines } = capture('warn');
    let children = 0;
    const child = parent.child.bind(parent);
    parent.child = ((...args: Parameters<typeof child>) => {
      children++;
      return child(...args);
    }) as typeof parent.child;
    const log = new LazyRequestLogger(parent, { reqId: 'r1' });
    log.info('quiet');
    log.debug({ a: 1 }, 'quieter');
    log.trace('quietest');
    expect(children).toBe(0);
    expect(lines).toEqual([]);
    log.warn({ secret: 'hunter2' }, 'loud');
    log.error('louder');
    expect(children).toBe(1);
    expect(lines.map((l) => [l.msg, l.reqId, l.level])).toEqual([
      ['loud', 'r1', 40],
      ['louder', 'r1', 50],
    ]);
    expect(lines[0]!.secret).toBe('[redacted]');
  });

  it('writes the same line as a real child logger would', () => {
    const { parent, lines } = capture('info');
    new LazyRequestLogger(parent, { reqId: 'r2' }).info({ status: 200 }, 'done');
    parent.child({ reqId: 'r2' }).info({ status: 200 }, 'done');
    const strip = ({ time: _t, ...rest }: Record<string, unknown>) => rest;
    expect(strip(lines[0]!)).toEqual(strip(lines[1]!));
  });

  it('follows the parent level until it has a child, then its own', () => {
    const { parent, lines } = capture('warn');
    const log = new LazyRequestLogger(parent, { reqId: 'r3' });
    expect(log.level).toBe('warn');
    parent.level = 'debug';
    log.debug('now enabled');
    expect(lines.map((l) => l.msg)).toEqual(['now enabled']);
    log.level = 'error';
    log.warn('below the child level');
    expect(lines).toHaveLength(1);
    expect(log.isLevelEnabled('error')).toBe(true);
    expect(log.isLevelEnabled('warn')).toBe(false);
  });

  it('carries its bindings into grandchildren', () => {
    const { parent, lines } = capture('info');
    const log = new LazyRequestLogger(parent, { reqId: 'r4' });
    expect(log.bindings()).toEqual({ reqId: 'r4' });
    log.child({ component: 'x' }).info('nested');
    expect(lines[0]).toMatchObject({ reqId: 'r4', component: 'x', msg: 'nested' });
  });
});
