import assert from "node:assert/strict";
import fc from "fast-check";
import { allocateMinutes } from "../../supabase/functions/_shared/plan/allocate.ts";

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Weights with at least one positive entry; zeros are common on purpose. */
const weightsArb = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10_000 })), {
  minLength: 1,
  maxLength: 12,
}).filter((ws) => ws.some((w) => w > 0));

Deno.test("allocateMinutes: worked examples", () => {
  assert.deepEqual(allocateMinutes(10, [1, 1, 1]), [4, 3, 3]);
  assert.deepEqual(allocateMinutes(60, [20, 10, 30]), [20, 10, 30]);
  assert.deepEqual(allocateMinutes(60, [20, 10, 30], [0, 15, 0]), [18, 15, 27]);
  assert.deepEqual(allocateMinutes(7, [1, 0, 1]), [4, 0, 3]);
  assert.deepEqual(allocateMinutes(0, [1, 2]), [0, 0]);
  assert.deepEqual(allocateMinutes(0, []), []);
});

Deno.test("allocateMinutes: ties go to the lower index", () => {
  assert.deepEqual(allocateMinutes(5, [1, 1, 1, 1, 1, 1]), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(allocateMinutes(2, [3, 3, 3]), [1, 1, 0]);
  // The largest remainder wins before the index tie-break applies.
  assert.deepEqual(allocateMinutes(2, [1, 1, 2]), [1, 0, 1]);
});

Deno.test("allocateMinutes: a zero weight gets zero even with a minimum", () => {
  assert.deepEqual(allocateMinutes(10, [0, 1, 1], [5, 1, 1]), [0, 5, 5]);
});

Deno.test("allocateMinutes: minimums are ignored when they do not fit", () => {
  assert.deepEqual(allocateMinutes(5, [1, 1, 1], [2, 2, 2]), [2, 2, 1]);
  assert.deepEqual(allocateMinutes(5, [1, 99], [0, 0]), allocateMinutes(5, [1, 99], [3, 3]));
});

Deno.test("allocateMinutes: rejects invalid input", () => {
  assert.throws(() => allocateMinutes(-1, [1]), RangeError);
  assert.throws(() => allocateMinutes(1.5, [1]), RangeError);
  assert.throws(() => allocateMinutes(10, [-1, 2]), RangeError);
  assert.throws(() => allocateMinutes(10, [Number.NaN]), RangeError);
  assert.throws(() => allocateMinutes(10, [Infinity]), RangeError);
  assert.throws(() => allocateMinutes(10, [0, 0]), RangeError);
  assert.throws(() => allocateMinutes(10, []), RangeError);
  assert.throws(() => allocateMinutes(10, [1, 1], [1]), RangeError);
  assert.throws(() => allocateMinutes(10, [1, 1], [1, 0.5]), RangeError);
});

Deno.test("allocateMinutes: sums exactly to the total (property, 5..480)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 5, max: 480 }), weightsArb, (total, weights) => {
      const parts = allocateMinutes(total, weights);
      assert.equal(sum(parts), total);
      for (const [i, part] of parts.entries()) {
        assert.ok(Number.isInteger(part) && part >= 0);
        if (weights[i] === 0) assert.equal(part, 0);
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("allocateMinutes: sums exactly with fractional weights (property)", () => {
  const fractional = fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), {
    minLength: 1,
    maxLength: 10,
  }).filter((ws) => ws.some((w) => w > 0));
  fc.assert(
    fc.property(fc.integer({ min: 5, max: 480 }), fractional, (total, weights) => {
      const parts = allocateMinutes(total, weights);
      assert.equal(sum(parts), total);
      assert.ok(parts.every((p) => Number.isInteger(p) && p >= 0));
    }),
    { numRuns: 1000 },
  );
});

Deno.test("allocateMinutes: without minimums each part is within 1 of its exact share", () => {
  fc.assert(
    fc.property(fc.integer({ min: 5, max: 480 }), weightsArb, (total, weights) => {
      const parts = allocateMinutes(total, weights);
      const weightSum = sum(weights);
      for (const [i, part] of parts.entries()) {
        const exact = (total * weights[i]) / weightSum;
        assert.ok(part >= Math.floor(exact) && part <= Math.ceil(exact), `${part} vs ${exact}`);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("allocateMinutes: minimums are honoured whenever they fit (property)", () => {
  const case_ = weightsArb.chain((weights) =>
    fc.record({
      weights: fc.constant(weights),
      minimums: fc.array(fc.integer({ min: 0, max: 40 }), {
        minLength: weights.length,
        maxLength: weights.length,
      }),
      total: fc.integer({ min: 5, max: 480 }),
    })
  );
  fc.assert(
    fc.property(case_, ({ weights, minimums, total }) => {
      const parts = allocateMinutes(total, weights, minimums);
      assert.equal(sum(parts), total);
      const needed = sum(minimums.filter((_, i) => weights[i] > 0));
      if (needed <= total) {
        for (const [i, part] of parts.entries()) {
          if (weights[i] > 0) assert.ok(part >= minimums[i], `${part} < ${minimums[i]}`);
          else assert.equal(part, 0);
        }
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("allocateMinutes: deterministic and does not mutate its input", () => {
  fc.assert(
    fc.property(fc.integer({ min: 5, max: 480 }), weightsArb, (total, weights) => {
      const copy = [...weights];
      const minimums = weights.map(() => 1);
      assert.deepEqual(
        allocateMinutes(total, weights, minimums),
        allocateMinutes(total, copy, [...minimums]),
      );
      assert.deepEqual(weights, copy);
    }),
    { numRuns: 500 },
  );
});
