/** `runInBackground` hands work that outlives a response to `EdgeRuntime.waitUntil` (spec 3). */
import assert from "node:assert/strict";
import { edgeRuntime, runInBackground } from "../../supabase/functions/_shared/background.ts";

/** Installs a fake `EdgeRuntime` global for `fn`, then removes it again. */
async function withFakeEdgeRuntime(
  fn: (received: Promise<unknown>[]) => Promise<void>,
): Promise<void> {
  const received: Promise<unknown>[] = [];
  const before = Object.getOwnPropertyDescriptor(globalThis, "EdgeRuntime");
  Object.defineProperty(globalThis, "EdgeRuntime", {
    configurable: true,
    value: { waitUntil: (promise: Promise<unknown>) => received.push(promise) },
  });
  try {
    await fn(received);
  } finally {
    if (before) Object.defineProperty(globalThis, "EdgeRuntime", before);
    else Reflect.deleteProperty(globalThis, "EdgeRuntime");
  }
}

Deno.test("the work is handed to EdgeRuntime.waitUntil and runs to its end", async () => {
  await withFakeEdgeRuntime(async (received) => {
    const done = Promise.withResolvers<string>();
    const settled = runInBackground(done.promise);
    assert.equal(received.length, 1);
    assert.equal(received[0], settled, "the runtime waits for the same promise");
    let finished = false;
    received[0].then(() => finished = true);
    await Promise.resolve();
    assert.equal(finished, false, "still running until the work settles");
    done.resolve("stored");
    await received[0];
    assert.equal(finished, true);
  });
});

Deno.test("a failure goes to onError; the promise handed over never rejects", async () => {
  await withFakeEdgeRuntime(async (received) => {
    const failures: unknown[] = [];
    const boom = new Error("store failed");
    const settled = runInBackground(Promise.reject(boom), (error) => failures.push(error));
    assert.equal(await received[0], undefined);
    assert.equal(await settled, undefined);
    assert.deepEqual(failures, [boom]);
    // A throwing error handler is contained too.
    await runInBackground(Promise.reject(boom), () => {
      throw new Error("handler failed");
    });
    assert.equal(received.length, 2);
  });
});

Deno.test("without EdgeRuntime (local stack) the work still runs", async () => {
  assert.equal(edgeRuntime(), null);
  let ran = false;
  await runInBackground((async () => {
    await Promise.resolve();
    ran = true;
  })());
  assert.equal(ran, true);
});

Deno.test("an EdgeRuntime without waitUntil, or one that throws, is not fatal", async () => {
  Object.defineProperty(globalThis, "EdgeRuntime", { configurable: true, value: {} });
  try {
    assert.equal(edgeRuntime(), null);
    await runInBackground(Promise.resolve());
    Object.defineProperty(globalThis, "EdgeRuntime", {
      configurable: true,
      value: {
        waitUntil() {
          throw new Error("shutting down");
        },
      },
    });
    let ran = false;
    await runInBackground(Promise.resolve().then(() => ran = true));
    assert.equal(ran, true);
  } finally {
    Reflect.deleteProperty(globalThis, "EdgeRuntime");
  }
});
