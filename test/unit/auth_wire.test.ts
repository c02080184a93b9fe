/**
 * The local Auth's wire format: GoTrue's error bodies for both API versions, and request
 * bodies decoded with json.Unmarshal's semantics (dev/auth/errors.ts, dev/auth/body.ts).
 */
import assert from "node:assert/strict";
import {
  AuthError,
  errorResponse,
  OAuthError,
  requestsApiVersion2024,
  WeakPasswordError,
} from "../../dev/auth/errors.ts";
import type { z } from "zod";
import { decodeStruct, type GoStruct, readBody } from "../../dev/auth/body.ts";
import { AdminUserParams, SignupParams, UserUpdateParams } from "../../dev/auth/schemas.ts";

const legacy = new Request("http://x/auth/v1/token");
const v2024 = new Request("http://x/auth/v1/token", {
  headers: { "x-supabase-api-version": "2024-01-01" },
});
const bytes = (text: string) => new TextEncoder().encode(text);

function decodeError(text: string, struct: GoStruct<z.ZodType> = SignupParams): AuthError {
  try {
    decodeStruct(bytes(text), struct);
  } catch (error) {
    assert.ok(error instanceof AuthError);
    return error;
  }
  assert.fail(`${text} decoded`);
}

Deno.test("auth errors: the initial API version is {code: status, error_code, msg}", async () => {
  const response = errorResponse(new AuthError(400, "invalid_credentials", "Nope"), legacy);
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("x-sb-error-code"), "invalid_credentials");
  assert.equal(response.headers.get("x-supabase-api-version"), null);
  assert.deepEqual(await response.json(), {
    code: 400,
    error_code: "invalid_credentials",
    msg: "Nope",
  });
});

Deno.test("auth errors: 2024-01-01 is {code: error_code, message} and echoes the version", async () => {
  const response = errorResponse(new AuthError(403, "session_not_found", "Gone"), v2024);
  assert.equal(response.status, 403);
  assert.equal(response.headers.get("x-supabase-api-version"), "2024-01-01");
  assert.deepEqual(await response.json(), { code: "session_not_found", message: "Gone" });
});

Deno.test("auth errors: weak passwords carry their reasons in both versions", async () => {
  const weak = new WeakPasswordError("Password should be at least 6 characters.", ["length"]);
  assert.deepEqual(await errorResponse(weak, legacy).json(), {
    code: 422,
    error_code: "weak_password",
    msg: "Password should be at least 6 characters.",
    weak_password: { reasons: ["length"] },
  });
  assert.deepEqual(await errorResponse(weak, v2024).json(), {
    code: "weak_password",
    message: "Password should be at least 6 characters.",
    weak_password: { reasons: ["length"] },
  });
});

Deno.test("auth errors: OAuth errors, and unexpected ones as a 500 that says nothing", async () => {
  const oauth = errorResponse(new OAuthError("invalid_request", "refresh_token required"), v2024);
  assert.equal(oauth.status, 400);
  assert.deepEqual(await oauth.json(), {
    error: "invalid_request",
    error_description: "refresh_token required",
  });
  const original = console.error;
  const logged: string[] = [];
  console.error = (line: string) => logged.push(line);
  try {
    const crash = errorResponse(new Error("password=hunter2 in SQL"), legacy);
    assert.equal(crash.status, 500);
    const body = await crash.json();
    assert.equal(body.error_code, "unexpected_failure");
    assert.equal(typeof body.error_id, "string");
    assert.ok(!JSON.stringify(body).includes("hunter2"), "the cause stays in the log");
    assert.equal(logged.length, 1);
  } finally {
    console.error = original;
  }
});

Deno.test("auth errors: API versions as GoTrue parses them", () => {
  const version = (value: string) =>
    requestsApiVersion2024(
      new Request("http://x", { headers: { "x-supabase-api-version": value } }),
    );
  assert.equal(version("2024-01-01"), true);
  assert.equal(version("2025-06-30"), true);
  assert.equal(version("2023-12-31"), false);
  assert.equal(version("2024-02-31"), false, "not a date");
  assert.equal(version("2024-1-1"), false);
  assert.equal(version("latest"), false);
  assert.equal(requestsApiVersion2024(legacy), false);
});

Deno.test("auth bodies: null and unknown fields leave Go's zero values", () => {
  const empty = decodeStruct(bytes("null"), SignupParams);
  assert.equal(empty.email, "");
  assert.equal(empty.data, undefined);
  const parsed = decodeStruct(
    bytes('{"email":"a@b.co","data":null,"gotrue_meta_security":{},"code_challenge":null}'),
    SignupParams,
  );
  assert.equal(parsed.email, "a@b.co");
  assert.equal(parsed.code_challenge, "");
  const update = decodeStruct(bytes('{"password":""}'), UserUpdateParams);
  assert.equal(update.password, "", "a *string set to empty is not nil");
  assert.equal(decodeStruct(bytes("{}"), UserUpdateParams).password, undefined);
  assert.equal(decodeStruct(bytes('{"email_confirm":true}'), AdminUserParams).email_confirm, true);
});

Deno.test("auth bodies: what json.Unmarshal refuses is bad_json with Go's wording", () => {
  const cases: [string, string][] = [
    ["", "unexpected end of JSON input"],
    ["[1]", "json: cannot unmarshal array into Go value of type api.SignupParams"],
    ['"x"', "json: cannot unmarshal string into Go value of type api.SignupParams"],
    [
      '{"email": 5}',
      "json: cannot unmarshal number into Go struct field SignupParams.email of type string",
    ],
    [
      '{"data": [1]}',
      "json: cannot unmarshal array into Go struct field SignupParams.data of type " +
      "map[string]interface {}",
    ],
  ];
  for (const [text, detail] of cases) {
    const error = decodeError(text);
    assert.equal(error.status, 400, text);
    assert.equal(error.errorCode, "bad_json", text);
    assert.equal(error.message, `Could not parse request body as JSON: ${detail}`, text);
  }
  const admin = decodeError('{"email_confirm":"yes"}', AdminUserParams);
  assert.match(admin.message, /AdminUserParams\.email_confirm of type bool$/);
  assert.equal(decodeError("{nope").errorCode, "bad_json");
  assert.equal(decodeError("[".repeat(100) + "]".repeat(100)).errorCode, "bad_json");
  assert.equal(decodeError('{"email":"a","email":"b"}').errorCode, "bad_json");
});

Deno.test("auth bodies: past the limit is 413, by declared length or while streaming", async () => {
  const declared = new Request("http://x", {
    method: "POST",
    body: "x".repeat(10),
    headers: { "content-length": "100" },
  });
  await assert.rejects(readBody(declared, 50), (error) => {
    assert.ok(error instanceof AuthError);
    assert.equal(error.status, 413);
    assert.equal(error.errorCode, "request_entity_too_large");
    return true;
  });
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new Uint8Array(40));
    },
  });
  const streamed = new Request("http://x", { method: "POST", body: stream });
  await assert.rejects(readBody(streamed, 100), /Request body too large \(max 100 bytes\)/);
  assert.equal(
    (await readBody(new Request("http://x", { method: "POST", body: "{}" }), 2)).length,
    2,
  );
});
