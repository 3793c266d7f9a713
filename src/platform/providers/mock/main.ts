/**
 * `npm run mock-provider`: the mock provider on its own, for load runs and manual tests.
 * MOCK_PROVIDER_PORT (default 4010) and MOCK_PROVIDER_HOST (default 127.0.0.1) place it.
 */
import { startMockProvider } from './server.ts';

const port = Number(process.env.MOCK_PROVIDER_PORT ?? process.env.PORT ?? 4010);
const host = process.env.MOCK_PROVIDER_HOST ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(
    `mock-provider: MOCK_PROVIDER_PORT=${JSON.stringify(String(port))} is not a port from 0 to 65535\n`,
  );
  process.exit(2);
}
const mock = await startMockProvider({ port, host });
process.stdout.write(
  `mock provider listening on ${mock.origin}\n` +
    `  OpenAI API     ${mock.url} (models: ${Object.keys(mock.models()).join(', ')})\n` +
    `  Anthropic API  ${mock.origin}/v1/messages\n` +
    `  admin          GET/PUT ${mock.origin}/admin/models[/:model], GET /admin/stats, POST /admin/reset\n`,
);
const stop = () => void mock.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
