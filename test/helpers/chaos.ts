/**
 * A chaos wrapper around a real ioredis client: the commands the cache uses can be made to fail
 * or to answer late (`sendCommand` too: the cache sends its MGET through it). Everything else
 * (events, duplicate(), status) goes to the real client.
 */
import type { Redis } from 'ioredis';

const COMMANDS = new Set([
  'mgetBuffer',
  'sendCommand',
  'mget',
  'mset',
  'set',
  'del',
  'unlink',
  'scan',
  'publish',
  'eval',
]);

export interface Chaos {
  client: Redis;
  /** 'ok': pass through; 'fail': reject at once; 'slow': answer after delayMs. */
  mode: 'ok' | 'fail' | 'slow';
  delayMs: number;
  /** Commands the cache issued through the wrapper. */
  calls: number;
}

export function chaosRedis(real: Redis): Chaos {
  const chaos: Chaos = { client: real, mode: 'ok', delayMs: 200, calls: 0 };
  chaos.client = new Proxy(real, {
    get(target, prop, _receiver) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !COMMANDS.has(prop)) return value.bind(target);
      return (...args: unknown[]) => {
        chaos.calls++;
        if (chaos.mode === 'fail') return Promise.reject(new Error('chaos: connection reset'));
        if (chaos.mode === 'slow') {
          return new Promise((r) => setTimeout(r, chaos.delayMs)).then(() => value.apply(target, args));
        }
        return value.apply(target, args);
      };
    },
  });
  return chaos;
}
