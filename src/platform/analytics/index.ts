export { type AggregateRow, fromRow, RESULTS_SQL, type VariantAggregate } from './aggregate.ts';
export { buildResults, type Comparison, type ExperimentInfo, type Metric, type Results } from './results.ts';
export { type ResultsRoutesOptions, registerResultsRoutes } from './routes.ts';
export { type CachedSql, createResultsService, type ResultsService, type ResultsSource } from './service.ts';
