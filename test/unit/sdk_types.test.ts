/**
 * One source of truth: the SDK's types are the functions' zod schemas, inferred. The type-level
 * assertions below fail `deno test` (which type-checks) if a type is written by hand and drifts;
 * the run-time checks keep the SDK a dependency-free ES module set that browsers and Node load
 * as is (no server code, no npm package at run time).
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import type * as requests from "../../supabase/functions/_shared/schemas.ts";
import type * as responses from "../../supabase/functions/_shared/responses.ts";
import type * as events from "../../supabase/functions/_shared/event_schemas.ts";
import type { EventPayloads } from "../../supabase/functions/_shared/events.ts";
import type * as sdk from "../../sdk/types.ts";
import type { LearningOrchestrator, OrchestratorError } from "../../sdk/mod.mjs";

/** True exactly when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
/** Compiles only when given `true`. */
function same<T extends true>(_proof?: T): void {}

Deno.test("request types are the request schemas' inputs", () => {
  same<Equal<sdk.IntentSyncRequest, z.input<typeof requests.IntentSyncBody>>>();
  same<Equal<sdk.DayRunRequest, z.input<typeof requests.DayRunBody>>>();
  same<Equal<sdk.DayDoneRequest, z.input<typeof requests.DayDoneBody>>>();
  // What callers may leave out is what the schema defaults.
  const minimal: sdk.IntentSyncRequest = {
    topic: "t",
    depth: "surface",
    end_goal: "g",
    time_per_day_min: 5,
  };
  assert.equal(minimal.user_tz, undefined);
});

Deno.test("response types are the response schemas' outputs", () => {
  same<
    Equal<sdk.IntentSyncResponse, z.output<typeof responses.IntentResponse>>
  >();
  same<Equal<sdk.DayRunResponse, z.output<typeof responses.DayRunResponse>>>();
  same<
    Equal<
      sdk.DayRunProvisionalResponse,
      z.output<typeof responses.DayRunProvisionalResponse>
    >
  >();
  same<
    Equal<sdk.DayDoneResponse, z.output<typeof responses.DayDoneResponse>>
  >();
  same<Equal<sdk.StatusResponse, z.output<typeof responses.StatusResponse>>>();
  same<
    Equal<sdk.SessionsResponse, z.output<typeof responses.SessionsResponse>>
  >();
  same<Equal<sdk.HealthResponse, z.output<typeof responses.HealthResponse>>>();
  same<Equal<sdk.ErrorResponse, z.output<typeof responses.ErrorResponse>>>();
});

Deno.test("event types are the event schemas'; the server's payloads come from them too", () => {
  same<Equal<sdk.LearnerEvent, z.output<typeof events.LearnerEvent>>>();
  same<Equal<sdk.DayRunAgentEvent, z.output<typeof events.DayRunAgentEvent>>>();
  same<Equal<sdk.LearnerEventType, keyof EventPayloads>>();
  same<
    Equal<
      EventPayloads["day_completed"],
      z.output<typeof events.EventPayloadSchemas.day_completed>
    >
  >();
});

Deno.test("the SDK's methods and error carry those types", () => {
  type Methods = LearningOrchestrator;
  same<Equal<Awaited<ReturnType<Methods["getStatus"]>>, sdk.StatusResponse>>();
  same<
    Equal<Awaited<ReturnType<Methods["createIntent"]>>, sdk.IntentSyncResponse>
  >();
  same<
    Equal<Awaited<ReturnType<Methods["generateDayPlan"]>>, sdk.DayRunResult>
  >();
  same<
    Equal<Awaited<ReturnType<Methods["completeDay"]>>, sdk.DayDoneResponse>
  >();
  same<
    Equal<Awaited<ReturnType<Methods["listSessions"]>>, sdk.SessionsResponse>
  >();
  same<Equal<Parameters<Methods["createIntent"]>[0], sdk.IntentSyncRequest>>();
  type Progress = ReturnType<Methods["runDay"]> extends AsyncGenerator<infer T> ? T
    : never;
  same<Equal<Progress, sdk.DayRunProgress>>();
  same<Equal<OrchestratorError["details"], sdk.ErrorDetail[]>>();
  same<Equal<OrchestratorError["retryAfter"], number | null>>();
});

/** The specifiers a module imports at run time (JSDoc `@import` lines are types only). */
function runtimeImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /^\s*\/\/.*$/gm,
    "",
  );
  return [
    ...code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/g),
  ]
    .map((m) => m[1]);
}

Deno.test("the SDK's JavaScript imports only itself at run time", async () => {
  const dir = new URL("../../sdk/", import.meta.url);
  const files = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".mjs"))
    .map((e) => e.name).sort();
  assert.deepEqual(files, [
    "errors.mjs",
    "events.mjs",
    "mod.mjs",
    "orchestrator.mjs",
    "sse.mjs",
  ]);
  for (const file of files) {
    const source = await Deno.readTextFile(new URL(file, dir));
    for (const specifier of runtimeImports(source)) {
      assert.match(
        specifier,
        /^\.\/[a-z_]+\.mjs$/,
        `${file} imports ${specifier}`,
      );
    }
  }
});
