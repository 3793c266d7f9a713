export {
  chiSquareSf,
  normalCdf,
  normalQuantile,
  normalSf,
  tCdf,
  tQuantile,
  tSf,
  tTwoSided,
} from './distributions.ts';
export { betaInc, erfc, gammaP, gammaQ, lnGamma } from './special.ts';
export {
  ALPHA,
  SRM_ALPHA,
  type SrmResult,
  type Summary,
  sampleRatioMismatch,
  type TestResult,
  twoProportion,
  welch,
} from './tests.ts';
