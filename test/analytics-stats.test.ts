/**
 * The statistics against reference values computed with scipy 1.10 (scipy.special.gammaln,
 * betainc, gammaincc; scipy.stats.norm, t, chi2, ttest_ind_from_stats(equal_var=False),
 * chisquare) and statsmodels 0.13.5 (the two-proportion interval). Inputs and expected values are
 * constants so the test needs no Python.
 */
import { describe, expect, it } from 'vitest';
import {
  betaInc,
  chiSquareSf,
  gammaQ,
  lnGamma,
  normalCdf,
  normalQuantile,
  normalSf,
  sampleRatioMismatch,
  tCdf,
  tQuantile,
  tSf,
  twoProportion,
  welch,
} from '../src/platform/analytics/stats/index.ts';

/** Relative error, with an absolute floor for values at or near zero. */
function close(actual: number | null | undefined, expected: number, rel: number, abs = 1e-300): void {
  expect(actual).toBeTypeOf('number');
  const err = Math.abs((actual as number) - expected);
  const ok = err <= Math.max(abs, rel * Math.abs(expected));
  if (!ok) expect.fail(`got ${actual}, expected ${expected} (error ${err})`);
}

const LNGAMMA = [
  [0.1, 2.252712651734206],
  [0.5, 0.5723649429247],
  [1, 0.0],
  [1.5, -0.12078223763524526],
  [2.5, 0.2846828704729192],
  [10, 12.801827480081469],
  [100.5, 361.43554046777757],
  [10000.0, 82099.71749644238],
  [1000000.0, 12815504.569147611],
];
const BETAINC = [
  [0.5, 0.5, 0.3, 0.3690101195655454],
  [2, 3, 0.4, 0.5247999999999999],
  [10, 0.5, 0.9, 0.15164090963470997],
  [0.5, 10, 0.01, 0.3420718248432155],
  [50, 50, 0.45, 0.15865219893709973],
  [500, 0.5, 0.999, 0.317310447309558],
  [5000, 0.5, 0.9995, 0.025332672657788328],
  [1, 1, 0.77, 0.77],
  [3.7, 12.2, 0.05, 0.009727653006725697],
];
const GAMMAQ = [
  [0.5, 0.1, 0.6547208460185768],
  [0.5, 4, 0.004677734981047276],
  [1, 3, 0.04978706836786395],
  [2.5, 1, 0.8491450360846096],
  [2.5, 10, 0.0012497305630313773],
  [10, 5, 0.9681719426937951],
  [10, 30, 7.121750862815593e-6],
  [100, 120, 0.027863739890520652],
  [0.5, 400, 5.395865611607819e-176],
];
const NORMALSF = [
  [-5, 0.9999997133484281],
  [-1.96, 0.9750021048517795],
  [0, 0.5],
  [0.5, 0.3085375387259869],
  [1.959963984540054, 0.025],
  [3, 0.0013498980316300933],
  [8, 6.22096057427174e-16],
  [20, 2.7536241186061556e-89],
  [37, 5.7255712225239266e-300],
];
const NORMALQUANTILE = [
  [1e-300, -37.0470962993612],
  [1e-10, -6.361340902404056],
  [0.001, -3.090232306167813],
  [0.025, -1.9599639845400545],
  [0.3, -0.5244005127080409],
  [0.5, 0.0],
  [0.975, 1.959963984540054],
  [0.999, 3.090232306167813],
  [0.9999999999, 6.361340889697422],
];
const TSF = [
  [-3, 1, 0.8975836176504333],
  [0.5, 1, 0.3524163823495668],
  [1.7, 1, 0.16925302733033265],
  [2.8, 1, 0.1091879114336295],
  [10, 1, 0.03172551743055356],
  [40, 1, 0.007956089912025812],
  [-3, 2.5, 0.9637119522254841],
  [0.5, 2.5, 0.3288489599348574],
  [1.7, 2.5, 0.10280610857994191],
  [2.8, 2.5, 0.04178931806650616],
  [10, 2.5, 0.002220747883653711],
  [40, 2.5, 7.097817145246693e-5],
  [-3, 7.3, 0.9905097244884332],
  [0.5, 7.3, 0.3158967634022208],
  [1.7, 7.3, 0.06558268417654346],
  [2.8, 7.3, 0.0127076060054792],
  [10, 7.3, 8.050127600740505e-6],
  [40, 7.3, 4.0185675839568655e-10],
  [-3, 30, 0.997305017967174],
  [0.5, 30, 0.31036150244256366],
  [1.7, 30, 0.049738937794258434],
  [2.8, 30, 0.004426554718690427],
  [10, 30, 2.2876257041148048e-11],
  [40, 30, 6.863022597203181e-28],
  [-3, 123.45, 0.9983666185044487],
  [0.5, 123.45, 0.3089825838574277],
  [1.7, 123.45, 0.04582454715014806],
  [2.8, 123.45, 0.0029664883406169177],
  [10, 123.45, 6.589163164311985e-18],
  [40, 123.45, 7.956763254577556e-73],
  [-3, 10000.0, 0.9986467759050012],
  [0.5, 10000.0, 0.30854303966161667],
  [1.7, 10000.0, 0.04458101136385253],
  [2.8, 10000.0, 0.002560030658414786],
  [10, 10000.0, 9.816403714332053e-24],
  [40, 10000.0, 0.0],
  [-3, 1000000.0, 0.9986500687292891],
  [0.5, 1000000.0, 0.30853759373618583],
  [1.7, 1000000.0, 0.04456561824517436],
  [2.8, 1000000.0, 0.002555179311467009],
  [10, 1000000.0, 7.639305384089058e-24],
  [40, 1000000.0, 0.0],
];
const TQUANTILE = [
  [0.975, 1, 12.706204736432095],
  [0.995, 1, 63.65674116287399],
  [0.025, 1, -12.706204736432102],
  [0.9, 1, 3.0776835372078066],
  [0.6, 1, 0.32491969623407446],
  [0.975, 1.7, 5.118838989314295],
  [0.995, 1.7, 13.453612659921443],
  [0.025, 1.7, -5.118838989314297],
  [0.9, 1.7, 2.0413497586257767],
  [0.6, 1.7, 0.2950611272978274],
  [0.975, 3, 3.182446305284263],
  [0.995, 3, 5.84090929975643],
  [0.025, 3, -3.1824463052842638],
  [0.9, 3, 1.637744357215907],
  [0.6, 3, 0.27667066230490933],
  [0.975, 12.8, 2.1638050535657998],
  [0.995, 12.8, 3.020123712294786],
  [0.025, 12.8, -2.1638050535657998],
  [0.9, 12.8, 1.3513009474439706],
  [0.6, 12.8, 0.25867365876067466],
  [0.975, 58.2, 2.001571035836456],
  [0.995, 58.2, 2.6629769816530144],
  [0.025, 58.2, -2.0015710358364567],
  [0.9, 58.2, 1.2962675531953514],
  [0.6, 58.2, 0.2545083205889122],
  [0.975, 1000.0, 1.9623390808264074],
  [0.995, 1000.0, 2.580754698065942],
  [0.025, 1000.0, -1.9623390808264078],
  [0.9, 1000.0, 1.2823987214609247],
  [0.6, 1000.0, 0.25341451583949864],
  [0.975, 1000000.0, 1.9599663568141066],
  [0.995, 1000000.0, 2.575834220105334],
  [0.025, 1000000.0, -1.959966356814107],
  [0.9, 1000000.0, 1.2815524121299386],
  [0.6, 1000000.0, 0.25334717053784156],
];
const CHISQUARESF = [
  [0.01, 1, 0.920344325445942],
  [1, 1, 0.31731050786291115],
  [5.99, 1, 0.01438720237400714],
  [16, 1, 6.334248366623988e-5],
  [50, 1, 1.537459794428033e-12],
  [200, 1, 2.0884875837625688e-45],
  [0.01, 2, 0.9950124791926823],
  [1, 2, 0.6065306597126334],
  [5.99, 2, 0.05003662708658629],
  [16, 2, 0.0003354626279025119],
  [50, 2, 1.3887943864964e-11],
  [200, 2, 3.7200759760208177e-44],
  [0.01, 3, 0.9997348349413444],
  [1, 3, 0.8012519569012009],
  [5.99, 3, 0.11209776171111292],
  [16, 3, 0.0011339842897853216],
  [50, 3, 7.989179244951495e-11],
  [200, 3, 4.218541107192018e-43],
  [0.01, 9, 0.9999999999991591],
  [1, 9, 0.9994375026978325],
  [5.99, 9, 0.7409187182782595],
  [16, 9, 0.06688158777412662],
  [50, 9, 1.0772382022574693e-7],
  [200, 9, 3.312992393909567e-38],
];
const WELCH = [
  {
    baseline: [50, 120.0, 400.0],
    variant: [60, 112.0, 900.0],
    t: -1.6681153124565982,
    df: 103.32673468008917,
    p: 0.09832066155443411,
    ci: [-17.511043260910924, 1.5110432609109257],
  },
  {
    baseline: [2, 1.0, 0.5],
    variant: [3, 2.0, 1.0],
    t: 1.3093073414159542,
    df: 2.8823529411764697,
    p: 0.2850228400142744,
    ci: [-1.4877337982061603, 3.4877337982061603],
  },
  {
    baseline: [1000, 0.0021, 1e-7],
    variant: [1200, 0.00195, 2.5e-7],
    t: -8.542421961772488,
    df: 2057.3723845120203,
    p: 2.516436431073328e-17,
    ci: [-0.00018443609527565082, -0.0001155639047243491],
  },
  {
    baseline: [30, 0.62, 0.04],
    variant: [25, 0.71, 0.09],
    t: 1.2813632942658735,
    df: 40.47508602013508,
    p: 0.2073587279523579,
    ci: [-0.05190378397772019, 0.23190378397772013],
  },
  {
    baseline: [100000, 250.0, 2500.0],
    variant: [100000, 250.5, 2600.0],
    t: 2.214037213850238,
    df: 199921.13681783245,
    p: 0.026827343057388254,
    ci: [0.05737513389908927, 0.9426248661009107],
  },
  {
    baseline: [5, 10.0, 0.0],
    variant: [7, 11.0, 3.0],
    t: 1.5275252316519468,
    df: 6.0,
    p: 0.1774888324162401,
    ci: [-0.6018798237103162, 2.6018798237103162],
  },
];
// p from the pooled z-test (scipy.stats.norm); ci from statsmodels 0.13.5,
// confint_proportions_2indep(method='newcomb', compare='diff'). The last three are all-or-nothing
// rates, where the Wald interval has zero width.
const TWOPROPORTION = [
  {
    baseline: [50, 1000],
    variant: [70, 1000],
    p: 0.059685605532426224,
    ci: [-0.000900356632652359, 0.04115782528352682],
  },
  {
    baseline: [3, 200],
    variant: [12, 210],
    p: 0.02309028798985037,
    ci: [0.005037321504460623, 0.08341142100099373],
  },
  {
    baseline: [400, 10000],
    variant: [395, 9800],
    p: 0.9126439581972265,
    ci: [-0.00516959870604781, 0.00579023266827075],
  },
  {
    baseline: [1, 2],
    variant: [2, 2],
    p: 0.24821307898992362,
    ci: [-0.2725727851131816, 0.9054687942657693],
  },
  {
    baseline: [0, 500],
    variant: [9, 500],
    p: 0.002581749081579319,
    ci: [0.006580223964433843, 0.033851670908739286],
  },
  {
    baseline: [0, 6],
    variant: [4, 4],
    p: 0.001565402258002548,
    ci: [0.3736184166546115, 1.0],
  },
  {
    baseline: [0, 2],
    variant: [2, 2],
    p: 0.04550026389635839,
    ci: [0.06998519885519938, 1.0],
  },
  {
    baseline: [5, 5],
    variant: [0, 7],
    p: 0.0005320055051392492,
    ci: [-1.0, -0.4393529903596999],
  },
];
const SRM = [
  { counts: [5000, 5000], weights: [50, 50], chi2: 0.0, p: 1.0 },
  { counts: [5100, 4900], weights: [1, 1], chi2: 4.0, p: 0.04550026389635857 },
  { counts: [5250, 4750], weights: [50, 50], chi2: 25.0, p: 5.733031437583875e-7 },
  { counts: [900, 100], weights: [90, 10], chi2: 0.0, p: 1.0 },
  { counts: [3400, 3300, 3300], weights: [1, 1, 1], chi2: 2.0, p: 0.36787944117144245 },
  { counts: [10000, 9000, 1500], weights: [45, 45, 10], chi2: 218.15718157181573, p: 4.243946768073511e-48 },
];

describe('special functions against scipy', () => {
  it('lnGamma', () => {
    for (const [x, want] of LNGAMMA) close(lnGamma(x!), want!, 1e-14, 1e-15);
  });
  it('regularised incomplete beta', () => {
    for (const [a, b, x, want] of BETAINC) close(betaInc(a!, b!, x!), want!, 1e-11);
  });
  it('regularised upper incomplete gamma', () => {
    for (const [a, x, want] of GAMMAQ) close(gammaQ(a!, x!), want!, 1e-12);
  });
});

describe('distributions against scipy', () => {
  it('normal upper tail, far into the tail', () => {
    for (const [z, want] of NORMALSF) close(normalSf(z!), want!, 1e-13);
    expect(normalCdf(0)).toBe(0.5);
  });
  it('normal quantile', () => {
    for (const [p, want] of NORMALQUANTILE) close(normalQuantile(p!), want!, 1e-13, 1e-15);
  });
  it('Student t upper tail for whole and fractional degrees of freedom', () => {
    for (const [t, df, want] of TSF) close(tSf(t!, df!), want!, 1e-10);
    for (const [t, df, want] of TSF) close(tCdf(-t!, df!), want!, 1e-10);
    // Closed forms: ν = 1 is Cauchy, atan(1/t)/π; ν = 2 has P(T > t) = 1 / (s(s + t)), s = √(2 + t²).
    for (const t of [0.3, 2, 12.7, 300]) {
      close(tSf(t, 1), Math.atan(1 / t) / Math.PI, 1e-13);
      const s = Math.sqrt(2 + t * t);
      close(tSf(t, 2), 1 / (s * (s + t)), 1e-13);
    }
  });
  it('Student t quantile', () => {
    // scipy's t.ppf itself is good to about 2e-9 relative (checked against mpmath at 40 digits),
    // so the reference comparison uses that tolerance; the closed forms and the round trip below
    // hold ours tighter.
    for (const [p, df, want] of TQUANTILE) close(tQuantile(p!, df!), want!, 5e-9);
    for (const p of [0.6, 0.9, 0.975, 0.995, 0.025]) {
      close(tQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-13);
      close(tQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-13);
      for (const [, df] of TQUANTILE) close(tSf(tQuantile(p, df!), df!), 1 - p, 1e-10);
    }
  });
  it('chi-square upper tail', () => {
    for (const [x, k, want] of CHISQUARESF) close(chiSquareSf(x!, k!), want!, 1e-11);
  });
});

describe('tests against scipy', () => {
  it("Welch's t-test: p-value and 95% interval", () => {
    for (const c of WELCH) {
      const [n1, m1, v1] = c.baseline as [number, number, number];
      const [n2, m2, v2] = c.variant as [number, number, number];
      const r = welch({ n: n1, mean: m1, variance: v1 }, { n: n2, mean: m2, variance: v2 });
      close(r.difference, m2 - m1, 1e-15);
      close(r.p_value, c.p, 1e-10);
      // The reference interval goes through scipy's t.ppf (about 2e-9 relative, see above).
      const half = (c.ci[1]! - c.ci[0]!) / 2;
      close(r.ci95?.[0], c.ci[0]!, 0, 5e-9 * half);
      close(r.ci95?.[1], c.ci[1]!, 0, 5e-9 * half);
      expect(r.significant).toBe(c.p < 0.05);
    }
  });
  it("pooled two-proportion z-test with Newcombe's score interval", () => {
    for (const c of TWOPROPORTION) {
      const [x1, n1] = c.baseline as [number, number];
      const [x2, n2] = c.variant as [number, number];
      const r = twoProportion({ x: x1, n: n1 }, { x: x2, n: n2 });
      close(r.p_value, c.p, 1e-12);
      close(r.ci95?.[0], c.ci[0]!, 1e-12, 1e-15);
      close(r.ci95?.[1], c.ci[1]!, 1e-12, 1e-15);
    }
  });
  it('sample-ratio mismatch chi-square', () => {
    for (const c of SRM) {
      const r = sampleRatioMismatch(c.counts, c.weights);
      close(r.chi2, c.chi2, 1e-12, 1e-15);
      close(r.p_value, c.p, 1e-11);
      expect(r.ok).toBe(c.p >= 0.001);
    }
  });
});

describe('not enough data', () => {
  it('gives p_value null with fewer than 2 per side', () => {
    const r = welch({ n: 1, mean: 5, variance: 0 }, { n: 40, mean: 6, variance: 2 });
    expect(r).toEqual({ difference: 1, ci95: null, p_value: null, significant: false });
    expect(welch({ n: 0, mean: 0, variance: 0 }, { n: 4, mean: 1, variance: 1 }).difference).toBeNull();
    expect(twoProportion({ x: 0, n: 1 }, { x: 3, n: 10 }).p_value).toBeNull();
  });
  it('gives p_value null with zero variance on both sides', () => {
    expect(welch({ n: 10, mean: 3, variance: 0 }, { n: 12, mean: 4, variance: 0 }).p_value).toBeNull();
    // Equal values summed in floating point: PostgreSQL's var_samp of six costs of 2.21e-5.
    const rounding = welch({ n: 6, mean: 2.21e-5, variance: 3.06e-43 }, { n: 6, mean: 4.42e-5, variance: 0 });
    expect(rounding.p_value).toBeNull();
    expect(rounding.ci95).toBeNull();
    // A real spread, however small, is still tested.
    expect(
      welch({ n: 6, mean: 100, variance: 1e-6 }, { n: 6, mean: 100.01, variance: 1e-6 }).p_value,
    ).not.toBeNull();
    expect(twoProportion({ x: 0, n: 100 }, { x: 0, n: 90 }).p_value).toBeNull();
    expect(twoProportion({ x: 100, n: 100 }, { x: 90, n: 90 }).p_value).toBeNull();
  });
  it('SRM without requests is ok with p_value null', () => {
    expect(sampleRatioMismatch([0, 0], [1, 1])).toEqual({ chi2: 0, p_value: null, ok: true });
  });
});
