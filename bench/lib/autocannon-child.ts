/**
 * Runs one autocannon measurement in its own process (so the load generator never shares an event
 * loop with the server under test) and prints the result as one JSON line on stdout.
 * Input: one JSON argument with autocannon options.
 */
import autocannon from 'autocannon';

const options = JSON.parse(process.argv[2] ?? '{}');
const result = await autocannon({ ...options, renderProgressBar: false, renderResultsTable: false });
const non2xx = result.non2xx ?? 0;
process.stdout.write(
  `${JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.average,
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx,
    ok2xx: result['2xx'],
    duration_s: result.duration,
  })}\n`,
);
