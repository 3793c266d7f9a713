export { registerSystemRoutes } from './system.ts';
