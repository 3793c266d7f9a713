export { registerPerformanceRoutes } from './performance.ts';
export { registerSystemRoutes } from './system.ts';
