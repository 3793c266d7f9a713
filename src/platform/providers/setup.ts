/**
 * The provider set of a server: the mock provider (in-process on an ephemeral port unless a URL
 * is given), OpenAI-compatible and Anthropic when configured, and the catalogue over them.
 */
import type { HttpClients } from '../../perf/http/index.ts';
import { createAnthropic } from './anthropic.ts';
import { type Catalogue, createCatalogue } from './catalogue.ts';
import { type MockProvider, startMockProvider } from './mock/server.ts';
import { createOpenAiCompatible } from './openai.ts';
import type { Provider } from './types.ts';

export interface ProvidersOptions {
  http: HttpClients;
  /** OpenAI API base URL of an external mock provider; unset starts one in-process. */
  mockUrl?: string | undefined;
  /** Set false to run without the mock provider. @default true */
  mock?: boolean;
  openai?: { apiKey: string | undefined; baseUrl: string; models: readonly string[]; enabled: boolean };
  anthropic?: { apiKey: string | undefined; baseUrl: string; models: readonly string[]; enabled: boolean };
}

export interface ProviderSet {
  catalogue: Catalogue;
  /** The in-process mock provider, when one was started. */
  mock: MockProvider | undefined;
  /** One line per provider for the start-up banner. */
  summary: string;
  close(): Promise<void>;
}

const MOCK_DEFAULT_MODELS = ['fast', 'slow', 'flaky'];

async function externalMockModels(url: string): Promise<string[]> {
  try {
    const res = await fetch(`${url.replace(/\/$/, '')}/models`, { signal: AbortSignal.timeout(2000) });
    const json = (await res.json()) as { data?: { id: string }[] };
    const ids = json.data?.map((m) => m.id) ?? [];
    return ids.length > 0 ? ids : MOCK_DEFAULT_MODELS;
  } catch {
    return MOCK_DEFAULT_MODELS;
  }
}

export async function createProviders(options: ProvidersOptions): Promise<ProviderSet> {
  const providers: Provider[] = [];
  const lines: string[] = [];
  let mock: MockProvider | undefined;
  if (options.mock !== false) {
    if (options.mockUrl === undefined) {
      mock = await startMockProvider();
      const started = mock;
      const inner = createOpenAiCompatible({
        name: 'mock',
        baseUrl: mock.url,
        models: [],
        http: options.http,
      });
      providers.push({
        name: 'mock',
        // Read live: models added through the mock's admin route become routable at once.
        get models() {
          return Object.keys(started.models());
        },
        complete: inner.complete,
        stream: inner.stream,
      });
      lines.push(`mock (in-process at ${mock.url})`);
    } else {
      const models = await externalMockModels(options.mockUrl);
      providers.push(
        createOpenAiCompatible({ name: 'mock', baseUrl: options.mockUrl, models, http: options.http }),
      );
      lines.push(`mock (at ${options.mockUrl})`);
    }
  }
  if (options.openai?.enabled) {
    const o = options.openai;
    providers.push(
      createOpenAiCompatible({
        name: 'openai',
        baseUrl: o.baseUrl,
        apiKey: o.apiKey,
        models: o.models,
        http: options.http,
      }),
    );
    lines.push(`openai (${o.baseUrl}, ${o.models.length} models)`);
  }
  if (options.anthropic?.enabled) {
    const a = options.anthropic;
    providers.push(
      createAnthropic({ baseUrl: a.baseUrl, apiKey: a.apiKey, models: a.models, http: options.http }),
    );
    lines.push(`anthropic (${a.baseUrl}, ${a.models.length} models)`);
  }
  return {
    catalogue: createCatalogue(providers),
    mock,
    summary: lines.length > 0 ? lines.join('; ') : 'none configured',
    async close() {
      await mock?.close();
    },
  };
}
