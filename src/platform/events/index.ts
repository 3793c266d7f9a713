export { type ExportFormat, exportStream } from './export.ts';
export { parseFeedback, ResponseNotFoundError, submitFeedback } from './feedback.ts';
export { EXPORT_COLUMNS, type ExperimentEvent } from './model.ts';
export {
  createPricing,
  DEFAULT_PRICES,
  type ModelPrice,
  type PriceTable,
  type Pricing,
  parsePriceTable,
} from './prices.ts';
export { createRecorder, type MarkerStore, type Recorder, type RecorderOptions } from './recorder.ts';
export { type EventRoutesOptions, registerEventRoutes } from './routes.ts';
export { type Feedback, insertEvent, insertEvents } from './store.ts';
export { createWriteBehind, type Sink, type WriteBehind, type WriteBehindOptions } from './write-behind.ts';
