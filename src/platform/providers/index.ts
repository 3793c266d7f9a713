export { ANTHROPIC_VERSION, type AnthropicOptions, createAnthropic, toAnthropic } from './anthropic.ts';
export { type Catalogue, createCatalogue, type ModelRoute } from './catalogue.ts';
export { DEFAULT_MODELS as DEFAULT_MOCK_MODELS, type MockModelConfig } from './mock/models.ts';
export {
  type MockProvider,
  type MockProviderOptions,
  type MockStats,
  startMockProvider,
} from './mock/server.ts';
export { createOpenAiCompatible, type OpenAiCompatibleOptions } from './openai.ts';
export { createProviders, type ProviderSet, type ProvidersOptions } from './setup.ts';
export type {
  ChatMessage,
  Completion,
  CompletionParams,
  Delta,
  FinishReason,
  Provider,
  ProviderRequest,
  Usage,
} from './types.ts';
export { textOf } from './types.ts';
