/**
 * Work that outlives its response (spec 3): the rest of a streamed day.run, an Idempotency-Key
 * finish, a day.tick batch. Supabase's edge runtime may drop an isolate once its response is
 * sent unless the work is handed to `EdgeRuntime.waitUntil`; elsewhere (the local stack, tests)
 * the process simply keeps running it. Everything that runs after a response goes through
 * `runInBackground`, so there is one place that knows about the runtime.
 */

/** The part of Supabase's `EdgeRuntime` global this module uses. */
export interface EdgeRuntimeLike {
  waitUntil(promise: Promise<unknown>): void;
}

/** `globalThis.EdgeRuntime` when it has a `waitUntil` method, else null (checked per call). */
export function edgeRuntime(): EdgeRuntimeLike | null {
  const runtime: unknown = Reflect.get(globalThis, "EdgeRuntime");
  if ((typeof runtime !== "object" && typeof runtime !== "function") || runtime === null) {
    return null;
  }
  const waitUntil: unknown = Reflect.get(runtime, "waitUntil");
  if (typeof waitUntil !== "function") return null;
  return { waitUntil: (promise) => Reflect.apply(waitUntil, runtime, [promise]) };
}

/**
 * Lets `work` finish after the response: hands it to `EdgeRuntime.waitUntil` when the runtime
 * has one. The promise handed over and the one returned never reject: a failure goes to
 * `onError` (default: ignored, the work is expected to log its own failures), so it can never
 * surface as an unhandled rejection that kills the isolate.
 */
export function runInBackground(
  work: Promise<unknown>,
  onError: (error: unknown) => void = () => {},
): Promise<void> {
  const settled = work.then(
    () => {},
    (error: unknown) => {
      try {
        onError(error);
      } catch {
        // A failing error handler must not turn into an unhandled rejection either.
      }
    },
  );
  try {
    edgeRuntime()?.waitUntil(settled);
  } catch {
    // A runtime that refuses the promise (shutting down) still lets it run as far as it can.
  }
  return settled;
}
