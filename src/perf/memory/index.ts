export { collectGarbage } from './collect.ts';
export { detectLeak, type HeapPoint, type LeakOptions, type LeakReport } from './leak.ts';
export {
  type BudgetReport,
  type BudgetStatus,
  createMemoryMonitor,
  type EventLoopReport,
  type GcReport,
  type GcResult,
  HeapSnapshotBusyError,
  type MemoryMonitor,
  type MemoryMonitorOptions,
  type MemorySample,
} from './monitor.ts';
