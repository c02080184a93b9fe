/**
 * Whole-minute apportionment: split a time budget into integer parts that add up exactly.
 *
 * @module
 */

/**
 * Split `total` minutes into integers proportional to `weights` that sum exactly to `total`.
 *
 * - Largest-remainder (Hamilton) method: every part gets the floor of its exact share, and the
 *   minutes left over go one each to the largest fractional remainders; equal remainders go to
 *   the lower index, so the result is deterministic.
 * - A weight of 0 always gets 0 minutes (and its minimum is ignored).
 * - `minimums[i]` is honoured when the minimums of all positively weighted parts fit in
 *   `total`: a part whose proportional share would fall below its minimum is pinned to it and
 *   the rest is re-apportioned among the others ("max(minimum, share)" water-filling). When the
 *   minimums do not fit, they are ignored and the split is purely proportional; callers that
 *   need every part to be non-zero choose which parts to keep before calling.
 *
 * @param total Non-negative integer to split.
 * @param weights Non-negative finite weights; at least one must be positive when `total > 0`.
 * @param minimums Optional non-negative integers, one per weight.
 * @returns One non-negative integer per weight, summing exactly to `total`.
 * @throws {RangeError} On a negative or non-integer total, a negative or non-finite weight,
 *   minimums of the wrong length or not non-negative integers, or a positive total with no
 *   positive weight.
 *
 * @example
 * ```ts
 * allocateMinutes(10, [1, 1, 1]); // [4, 3, 3]
 * allocateMinutes(60, [20, 10, 30], [0, 15, 0]); // [18, 15, 27]
 * ```
 */
export function allocateMinutes(
  total: number,
  weights: readonly number[],
  minimums?: readonly number[],
): number[] {
  const mins = checkedMinimums(total, weights, minimums);
  const result = weights.map(() => 0);
  const active = weights.flatMap((w, i) => (w > 0 ? [i] : []));
  if (active.length === 0) {
    if (total > 0) throw new RangeError("cannot split a positive total without a positive weight");
    return result;
  }

  const minimumSum = active.reduce((sum, i) => sum + mins[i], 0);
  const useMinimums = minimumSum <= total;
  const { free, remaining } = useMinimums
    ? pinMinimums({ total, weights, mins, active, result })
    : { free: active, remaining: total };
  largestRemainder({ remaining, weights, free, result, floorOf: (i) => useMinimums ? mins[i] : 0 });
  return result;
}

/** Checks the arguments (see `allocateMinutes`); returns the minimums, all 0 when not given. */
function checkedMinimums(
  total: number,
  weights: readonly number[],
  minimums: readonly number[] | undefined,
): readonly number[] {
  if (!Number.isSafeInteger(total) || total < 0) {
    throw new RangeError(`total must be a non-negative integer, got ${total}`);
  }
  for (const w of weights) {
    if (!Number.isFinite(w) || w < 0) {
      throw new RangeError(`weights must be finite and non-negative, got ${w}`);
    }
  }
  const mins = minimums ?? weights.map(() => 0);
  if (mins.length !== weights.length) {
    throw new RangeError(
      `minimums must have one entry per weight (${weights.length}), got ${mins.length}`,
    );
  }
  for (const m of mins) {
    if (!Number.isSafeInteger(m) || m < 0) {
      throw new RangeError(`minimums must be non-negative integers, got ${m}`);
    }
  }
  return mins;
}

/**
 * Water-filling: pins parts whose share falls below their minimum (setting `result` for them)
 * until none does, and returns the parts left free with the minutes left for them. The pinned
 * set only grows, and it never swallows every part because the minimums fit in the total.
 */
function pinMinimums({ total, weights, mins, active, result }: {
  total: number;
  weights: readonly number[];
  mins: readonly number[];
  /** The positively weighted parts. */
  active: number[];
  result: number[];
}): { free: number[]; remaining: number } {
  const pinned = new Set<number>();
  let free = active;
  let remaining = total;
  for (;;) {
    const weightSum = sumOf(free.map((i) => weights[i]));
    const below = free.filter((i) => remaining * weights[i] < mins[i] * weightSum);
    if (below.length === 0) break;
    for (const i of below) {
      pinned.add(i);
      result[i] = mins[i];
      remaining -= mins[i];
    }
    free = free.filter((i) => !pinned.has(i));
  }
  return { free, remaining };
}

/**
 * Largest remainder: sets `result` for the `free` parts to their share of `remaining`, never
 * taking a part below `floorOf(i)` when floating-point weights over-give.
 */
function largestRemainder({ remaining, weights, free, result, floorOf }: {
  remaining: number;
  weights: readonly number[];
  free: number[];
  result: number[];
  floorOf: (i: number) => number;
}): void {
  // With integer weights every product below is exact.
  const weightSum = sumOf(free.map((i) => weights[i]));
  const remainders: { index: number; remainder: number }[] = [];
  let given = 0;
  for (const i of free) {
    const scaled = remaining * weights[i];
    const floor = Math.floor(scaled / weightSum);
    result[i] = floor;
    given += floor;
    remainders.push({ index: i, remainder: scaled - floor * weightSum });
  }
  remainders.sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  // Floating-point weights can leave `left` outside [0, free.length); cycling keeps the sum
  // exact either way.
  let left = remaining - given;
  for (let k = 0; left > 0; k = (k + 1) % remainders.length, left--) {
    result[remainders[k].index]++;
  }
  for (let k = remainders.length - 1; left < 0; k = k === 0 ? remainders.length - 1 : k - 1) {
    const i = remainders[k].index;
    if (result[i] > floorOf(i)) {
      result[i]--;
      left++;
    }
  }
}

function sumOf(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0);
}
