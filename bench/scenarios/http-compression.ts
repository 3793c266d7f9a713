/**
 * Compressed responses against uncompressed ones, on a ~10 KB JSON body through Versus's full
 * HTTP stack: precompressed (a cached body, compressed once per coding) and dynamic (compressed
 * per response, fast levels). The anchor is the same route without Accept-Encoding, measured in
 * the same run, alternating.
 */
import { type LoadResult, load, startTarget } from '../lib/http.ts';
import { human, median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const CASES: { route: string; encoding: string | undefined }[] = [
  { route: '/cached', encoding: undefined },
  { route: '/cached', encoding: 'gzip' },
  { route: '/cached', encoding: 'br' },
  { route: '/cached', encoding: 'zstd' },
  { route: '/dynamic', encoding: undefined },
  { route: '/dynamic', encoding: 'gzip' },
  { route: '/dynamic', encoding: 'br' },
  { route: '/dynamic', encoding: 'zstd' },
];

export const scenario: Scenario = {
  id: 'http-compression',
  title: 'HTTP: compressed vs uncompressed 10 KB JSON (precompressed cache hit and dynamic)',
  async run({ runs, duration, log }) {
    const target = await startTarget('versus', 'bench/targets/versus-compression.ts');
    const connections = 100;
    const results = new Map<string, LoadResult[]>();
    const sizes = new Map<string, number>();
    try {
      for (const c of CASES) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (c.encoding) headers['accept-encoding'] = c.encoding;
        // fetch asks for every coding unless told otherwise; the wire size is content-length.
        const res = await fetch(`${target.url}${c.route}`, {
          method: 'POST',
          headers: { 'accept-encoding': 'identity', ...headers },
          body: '{}',
        });
        sizes.set(`${c.route} ${c.encoding}`, Number(res.headers.get('content-length')));
        await res.arrayBuffer();
        await load({
          url: `${target.url}${c.route}`,
          method: 'POST',
          headers,
          body: '{}',
          connections,
          duration: 1,
        });
      }
      for (let i = 0; i < runs; i++) {
        for (const c of CASES) {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (c.encoding) headers['accept-encoding'] = c.encoding;
          const r = await load({
            url: `${target.url}${c.route}`,
            method: 'POST',
            headers,
            body: '{}',
            connections,
            duration,
          });
          const key = `${c.route} ${c.encoding}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          log(`  run ${i + 1}/${runs} ${c.route} ${c.encoding ?? 'identity'}: ${human(r.rps)} req/s`);
        }
      }
    } finally {
      await target.stop();
    }
    const rows = CASES.map((c) => {
      const key = `${c.route} ${c.encoding}`;
      const rs = results.get(key) ?? [];
      const rps = median(rs.map((r) => r.rps));
      const anchor = median((results.get(`${c.route} undefined`) ?? []).map((r) => r.rps));
      return [
        c.route === '/cached' ? 'precompressed (cache hit)' : 'dynamic',
        c.encoding ?? 'identity',
        String(sizes.get(key)),
        human(rps),
        c.encoding === undefined ? '1.00× (anchor)' : ratio(rps, anchor),
        `${median(rs.map((r) => r.latency.p50))} / ${median(rs.map((r) => r.latency.p99))}`,
        String(rs.reduce((n, r) => n + r.errors + r.non2xx, 0)),
      ];
    });
    return [
      preamble('npm run bench -- http-compression', runs),
      `Each run: autocannon, ${connections} connections, ${duration} s, in its own process against 127.0.0.1.`,
      '',
      table(
        ['body', 'coding', 'bytes on the wire', 'req/s', 'vs identity', 'p50 / p99 ms', 'errors + non-2xx'],
        rows,
      ),
    ].join('\n');
  },
};
