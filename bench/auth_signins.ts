/**
 * Anonymous sign-ins against the local Auth (spec 10: "1000 anonymous sign-ins … reported"):
 * each through its own `@supabase/supabase-js` client's `auth.signInAnonymously()`, as that
 * many browsers would, `concurrency` at a time.
 * `deno task bench-local` (bench/local_stack.ts) runs it on each backend.
 */
import { createClient } from "@supabase/supabase-js";
import { LOCAL_PUBLISHABLE_KEY } from "../dev/keys.ts";
import { mapConcurrent } from "./lib/runner.ts";
import { percentile } from "./lib/stats.ts";

export interface SignInBenchResult {
  n: number;
  concurrency: number;
  /** Wall-clock time for all `n`. */
  total_ms: number;
  /** Per sign-in, nearest rank. */
  p50_ms: number;
  p95_ms: number;
  per_second: number;
  /** Sign-ins that did not return a session (0 on a healthy stack). */
  errors: number;
}

/** Runs `n` anonymous sign-ins against the stack at `stack.url`. */
export async function benchAnonymousSignIns(
  stack: { url: string },
  n = 1000,
  concurrency = 16,
): Promise<SignInBenchResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  await mapConcurrent(Array.from({ length: n }), concurrency, async () => {
    const client = createClient(stack.url, LOCAL_PUBLISHABLE_KEY, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const t0 = performance.now();
    const { data, error } = await client.auth.signInAnonymously();
    const elapsed = performance.now() - t0;
    if (error || !data.session) errors++;
    else latencies.push(elapsed);
  });
  const total_ms = performance.now() - started;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    n,
    concurrency,
    total_ms,
    p50_ms: percentile(sorted, 50),
    p95_ms: percentile(sorted, 95),
    per_second: (n - errors) / (total_ms / 1000),
    errors,
  };
}
