import { cacheContract } from './cache/contract.ts';

cacheContract('L1 only', () => ({}));
