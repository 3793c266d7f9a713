/**
 * A log-linear histogram of positive integers (the monitor records microseconds), with the layout
 * and the precision of an HDR histogram at 3 significant digits: values below 2048 have a bucket
 * each, and every power of two above is cut into 1024 buckets, so a value is known to 1/1024
 * (under 0.1%). Count, sum and maximum are kept exactly.
 *
 * Recording is an index computation and one increment; the counts grow with the largest value
 * seen (16 KB up to 8 ms, about 70 KB up to a minute), so an idle histogram stays small.
 */

const SUB_BITS = 11;
/** Values below this have a bucket each. */
const LINEAR = 1 << SUB_BITS;
const HALF = LINEAR >>> 1;
/** The largest value kept apart (2^31 - 1 µs, about 36 minutes); larger ones count as it. */
export const LOG_HISTOGRAM_MAX = 2 ** 31 - 1;

/** Index of the bucket that holds `v` (an integer from 0 to LOG_HISTOGRAM_MAX). */
function indexOf(v: number): number {
  if (v < LINEAR) return v | 0;
  const shift = 31 - Math.clz32(v) - (SUB_BITS - 1);
  return LINEAR + (shift - 1) * HALF + ((v >>> shift) - HALF);
}

const MAX_INDEX = indexOf(LOG_HISTOGRAM_MAX);
/** Counts allocated up front: every value below 2^13 (8 ms in µs). */
const INITIAL_LENGTH = indexOf(2 ** 13);

/** The largest value that falls in bucket `i`. */
function highestOf(i: number): number {
  if (i < LINEAR) return i;
  const shift = ((i - LINEAR) >>> (SUB_BITS - 1)) + 1;
  const sub = ((i - LINEAR) & (HALF - 1)) + HALF;
  return (sub + 1) * 2 ** shift - 1;
}

export class LogHistogram {
  #counts = new Uint32Array(INITIAL_LENGTH);
  /** Highest bucket with a count, -1 when empty: bounds every scan. */
  #top = -1;
  #total = 0;
  #sum = 0;
  #max = 0;

  get totalCount(): number {
    return this.#total;
  }

  /** The largest value recorded (exact), 0 when empty. */
  get maxValue(): number {
    return this.#max;
  }

  /** Exact mean of the values recorded, 0 when empty. */
  get mean(): number {
    return this.#total === 0 ? 0 : this.#sum / this.#total;
  }

  /**
   * Records `value`, a non-negative integer (NaN and negatives are ignored); a value above
   * LOG_HISTOGRAM_MAX counts in the last bucket but keeps its place in the sum and the maximum.
   */
  record(value: number): void {
    if (!(value >= 0)) return;
    const i = indexOf(Math.min(value, LOG_HISTOGRAM_MAX));
    if (i >= this.#counts.length) this.#grow(i);
    this.#counts[i]!++;
    if (i > this.#top) this.#top = i;
    this.#total++;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
  }

  /**
   * The smallest recorded value such that `percentile` % of values are at or below it, as the
   * highest value of its bucket (never above the exact maximum); 0 when empty.
   */
  valueAtPercentile(percentile: number): number {
    if (this.#total === 0) return 0;
    const p = Math.max(0, Math.min(percentile, 100));
    const target = Math.max(1, Math.ceil((p / 100) * this.#total));
    const counts = this.#counts;
    if (p >= 50) {
      // From the top: tail percentiles touch only the few buckets above them.
      let cumulative = this.#total;
      for (let i = this.#top; i > 0; i--) {
        const below = cumulative - counts[i]!;
        if (below < target) return Math.min(highestOf(i), this.#max);
        cumulative = below;
      }
      return 0;
    }
    let seen = 0;
    for (let i = 0; i <= this.#top; i++) {
      seen += counts[i]!;
      if (seen >= target) return Math.min(highestOf(i), this.#max);
    }
    return this.#max;
  }

  /** Adds every count of `other` to this histogram. */
  add(other: LogHistogram): void {
    if (other.#total === 0) return;
    if (other.#top >= this.#counts.length) this.#grow(other.#top);
    const mine = this.#counts;
    const theirs = other.#counts;
    for (let i = 0; i <= other.#top; i++) mine[i]! += theirs[i]!;
    if (other.#top > this.#top) this.#top = other.#top;
    this.#total += other.#total;
    this.#sum += other.#sum;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  reset(): void {
    if (this.#top >= 0) this.#counts.fill(0, 0, this.#top + 1);
    this.#top = -1;
    this.#total = 0;
    this.#sum = 0;
    this.#max = 0;
  }

  #grow(index: number): void {
    const length = Math.min(MAX_INDEX + 1, Math.max(index + 1, this.#counts.length * 2));
    const counts = new Uint32Array(length);
    counts.set(this.#counts);
    this.#counts = counts;
  }
}
