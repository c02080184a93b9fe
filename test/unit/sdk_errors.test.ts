/**
 * The SDK's error mapping: whatever `functions.invoke` returns as `error` (functions-js's own
 * classes, from the real supabase-js) becomes an `OrchestratorError` with the API's status,
 * code, details and Retry-After, or one of the SDK's own codes when the API never answered.
 */
import assert from "node:assert/strict";
import {
  FunctionsFetchError,
  FunctionsHttpError,
  FunctionsRelayError,
} from "@supabase/supabase-js";
import { OrchestratorError, parseRetryAfter } from "../../sdk/mod.mjs";
import { parseErrorBody, toOrchestratorError } from "../../sdk/errors.mjs";

function httpError(
  status: number,
  body: string,
  headers: Record<string, string> = {},
) {
  return new FunctionsHttpError(new Response(body, { status, headers }));
}

Deno.test("parseRetryAfter: delay-seconds, an HTTP date, nonsense", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("120", now), 120);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:01:30 GMT", now), 90);
  assert.equal(
    parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now),
    0,
    "a date in the past",
  );
  assert.equal(parseRetryAfter("soon", now), null);
  assert.equal(parseRetryAfter("-5", now), null);
  assert.equal(parseRetryAfter(null, now), null);
});

Deno.test("an API error: status, code, sentence, Retry-After, the original as cause", async () => {
  const original = httpError(
    429,
    JSON.stringify({
      error: "Too many requests; slow down.",
      code: "RATE_LIMITED",
    }),
    { "content-type": "application/json", "retry-after": "12" },
  );
  const error = await toOrchestratorError(original);
  assert.ok(error instanceof OrchestratorError && error instanceof Error);
  assert.equal(error.name, "OrchestratorError");
  assert.equal(error.status, 429);
  assert.equal(error.code, "RATE_LIMITED");
  assert.equal(error.message, "Too many requests; slow down.");
  assert.equal(error.retryAfter, 12);
  assert.deepEqual(error.details, []);
  assert.equal(error.cause, original);
});

Deno.test("a validation error keeps its well-formed details only", async () => {
  const body = {
    error: "The request body is not valid.",
    code: "INVALID_REQUEST",
    details: [
      {
        path: ["time_per_day_min"],
        message: "Too small: expected number to be >=5",
      },
      { path: ["meta", "plan_time"], message: "Must be HH:MM." },
      { path: "topic", message: "not an array path" },
      { path: [], message: 42 },
      "junk",
    ],
  };
  const error = await toOrchestratorError(httpError(400, JSON.stringify(body)));
  assert.equal(error.code, "INVALID_REQUEST");
  assert.equal(error.retryAfter, null);
  assert.deepEqual(error.details, [
    {
      path: ["time_per_day_min"],
      message: "Too small: expected number to be >=5",
    },
    { path: ["meta", "plan_time"], message: "Must be HH:MM." },
  ]);
});

Deno.test("an answer that is not the API's: UNEXPECTED_RESPONSE with a sentence", async () => {
  const html = await toOrchestratorError(
    new FunctionsHttpError(
      new Response("<html>Bad gateway</html>", {
        status: 502,
        statusText: "Bad Gateway",
      }),
    ),
  );
  assert.deepEqual([html.status, html.code, html.message], [
    502,
    "UNEXPECTED_RESPONSE",
    "The server answered 502 Bad Gateway.",
  ]);
  const other = await toOrchestratorError(
    httpError(500, JSON.stringify({ message: "boom" })),
  );
  assert.equal(other.code, "UNEXPECTED_RESPONSE");
  assert.equal(parseErrorBody('{"error":"x","code":"lower case"}'), null);
  assert.equal(parseErrorBody("[1,2]"), null);
});

Deno.test("no answer at all: NETWORK_ERROR, ABORTED, RELAY_ERROR", async () => {
  const network = await toOrchestratorError(
    new FunctionsFetchError(new TypeError("refused")),
  );
  assert.deepEqual([network.status, network.code], [0, "NETWORK_ERROR"]);
  assert.match(network.message, /Could not reach the server/);

  const abort = new DOMException("The operation was aborted.", "AbortError");
  const aborted = await toOrchestratorError(new FunctionsFetchError(abort));
  assert.deepEqual([aborted.status, aborted.code], [0, "ABORTED"]);

  const relay = await toOrchestratorError(
    new FunctionsRelayError(new Response(null, { status: 502 })),
  );
  assert.deepEqual([relay.status, relay.code], [502, "RELAY_ERROR"]);

  const unknown = await toOrchestratorError("a string thrown by someone");
  assert.equal(unknown.code, "NETWORK_ERROR");
  const same = new OrchestratorError("Already mapped.", {
    status: 409,
    code: "NO_ACTIVE_INTENT",
  });
  assert.equal(await toOrchestratorError(same), same);
});
