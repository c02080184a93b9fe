/**
 * Property-based tests (fast-check) of bad input over real HTTP against the served stack
 * (gateway + orchestrator + reference agents): every route's body, query and headers, odd
 * methods and unknown routes (issue 4, item 6).
 *
 * Backend: the real Postgres of TEST_DATABASE_URL when set (what `deno task test` provides:
 * real jsonb, real text encoding rules), else embedded PGlite. One stack for the file.
 *
 * For every generated request:
 * - never a 500, never a hang (each request has a deadline);
 * - the status is one of spec 5.2's, and an error body is exactly `{error, code, details?}`
 *   with a code spec 5.2 gives that status;
 * - 2xx only when an independent oracle (written from spec 5.3–5.5, not from the zod schemas)
 *   says the input is valid, and the exact error the oracle expects otherwise;
 * - Access-Control-Allow-Origin on every response;
 * - a rejected request changed nothing stored: a digest of every wisely.* row of the fuzzed
 *   users (and of settings, agents and their Realtime messages) is compared before and after.
 *   `wisely.rate_limits` is left out: metering a rejected request is not storing it.
 *
 * Rules these properties pin down (body.ts, schemas.ts):
 * - a key twice in one object (after unescaping) is 400: parsers disagree on which one wins;
 * - a `charset` other than UTF-8 on a JSON body is 415 (RFC 8259 §8.1: JSON is UTF-8);
 * - nesting deeper than 64 levels is 400 (meta: 32), before any recursive validator;
 * - text is code points, without NUL or lone surrogates (Postgres cannot store them as sent);
 * - meta's 8 KiB is measured as the database's CHECK measures it (jsonb text, numbers in full).
 * A "models" step checks the duplicate scan and the jsonb size model against Postgres itself.
 *
 * Rate limits are raised for this stack: the fuzzer measures input handling, not throttling.
 * Idempotency-Key is not fuzzed here (spec 5.7 gives it its own semantics and tests). Headers
 * stay under 64 KiB in total: past that, Deno's HTTP server answers 400 with an empty body
 * before any application code runs (and a deployed function sits behind Supabase's gateway).
 * FUZZ_RUNS sets the runs per property (default below).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { mintUserJwt } from "../../dev/jwt.ts";
import { checkJsonStructure } from "../../supabase/functions/_shared/http/body.ts";
import { jsonbTextBytes } from "../../supabase/functions/_shared/schemas.ts";
import { startTestStack } from "../support/stack.ts";

const BACKEND = Deno.env.get("TEST_DATABASE_URL") ? "postgres" : "pglite";
/** Runs per property; the whole file stays around 30–60 s. */
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 500);
const REQUEST_DEADLINE_MS = 15_000;
const MAX_BODY = 64 * 1024;

const CODES: Record<number, string[]> = {
  400: ["INVALID_REQUEST"],
  401: ["UNAUTHORIZED"],
  403: ["FORBIDDEN"],
  404: ["NOT_FOUND", "SESSION_NOT_FOUND"],
  405: ["METHOD_NOT_ALLOWED"],
  409: ["NO_ACTIVE_INTENT", "IDEMPOTENCY_KEY_IN_USE"],
  413: ["PAYLOAD_TOO_LARGE"],
  415: ["UNSUPPORTED_MEDIA_TYPE"],
  422: ["IDEMPOTENCY_KEY_REUSED"],
  429: ["RATE_LIMITED"],
  503: ["DATABASE_UNAVAILABLE"],
};
const SUCCESS = [200, 201, 204];

// --- what the oracle expects ----------------------------------------------------------------

type Outcome =
  /** Exactly this error. */
  | { kind: "error"; status: number; code: string }
  /** A valid request: one of these 2xx. */
  | { kind: "ok"; statuses: number[] }
  /** Accepted by authentication; what the route then answers is not this property's concern. */
  | { kind: "authorized" }
  /** The oracle does not know (e.g. a time zone outside its lists): any spec answer. */
  | { kind: "any" };

const error = (status: number, code: string): Outcome => ({ kind: "error", status, code });
const ok = (...statuses: number[]): Outcome => ({ kind: "ok", statuses });
const invalid = error(400, "INVALID_REQUEST");

interface Sent {
  method: string;
  route: string;
  /** Raw query string, with or without "?". */
  query?: string;
  headers: [string, string][];
  body?: Uint8Array<ArrayBuffer>;
  /** Send the body as a stream (chunked, no Content-Length). */
  chunked?: boolean;
}

interface Received {
  status: number;
  headers: Headers;
  text: string;
}

function describe(sent: Sent): string {
  const body = sent.body ? new TextDecoder().decode(sent.body.slice(0, 300)) : "";
  const headers = sent.headers.map(([n, v]) => `${n}: ${v.length > 80 ? v.slice(0, 80) + "…" : v}`);
  return `${sent.method} ${sent.route}${sent.query ?? ""} [${headers.join(" | ")}] ${
    sent.body ? `${sent.body.byteLength} B` : "no body"
  } ${JSON.stringify(body.slice(0, 300))}`;
}

// --- the JSON the oracle reasons about --------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
/** What Postgres can store as text: well-formed UTF-16, no NUL. */
const storable = (s: string) => s.isWellFormed() && !s.includes("\u0000");
const safeInt = (v: unknown, min: number, max: number) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;
/** A string of min–max characters (code points, as Postgres' char_length counts them). */
const text = (v: unknown, min: number, max: number, trim: boolean) => {
  if (typeof v !== "string" || !storable(v)) return false;
  const length = [...(trim ? v.trim() : v)].length;
  return length >= min && length <= max;
};
/** RFC 9562 UUIDs (versions 1–8, variant 10xx), nil and max. */
const UUID_RE =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/i;
const PLAN_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const DEPTHS = ["surface", "informed", "deep", "expert"];
const TZ_VALID = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "utc", " Europe/Paris "];
const TZ_INVALID = ["", "Mars/Base", "Europe/Pari", "UTC\u0000", "x".repeat(65), "../etc/passwd"];

/** Nesting depth of a parsed JSON value (a scalar is 0, `[]` is 1). Iterative. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    max = Math.max(max, d + 1);
    for (const item of Object.values(v)) stack.push([item, d + 1]);
  }
  return max;
}

function everyString(value: unknown, test: (s: string) => boolean): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string" && !test(v)) return false;
    if (typeof v === "object" && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        if (!Array.isArray(v) && !test(k)) return false;
        stack.push(item);
      }
    }
  }
  return true;
}

/** JSON has no Infinity: `1e309` parses to one, and neither zod's JSON nor jsonb holds it. */
function finiteNumbers(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "number" && !Number.isFinite(v)) return false;
    if (typeof v === "object" && v !== null) stack.push(...Object.values(v));
  }
  return true;
}

/** Unknown keys make a body invalid (strict schemas); `null` means "no opinion". */
function onlyKeys(body: Record<string, unknown>, keys: string[]): boolean {
  return Object.keys(body).every((k) => keys.includes(k));
}

// --- the stack, its users and the store digest ---------------------------------------------

let stack!: Awaited<ReturnType<typeof startTestStack>>;
let ORCH = "";
/** Generated cases per property, and the statuses the HTTP ones got. */
const counts: Record<string, number> = {};
const statuses: Record<string, Record<number, number>> = {};
let digestTables: string[] = [];

async function rawRequest(sent: Sent): Promise<Received> {
  const headers = new Headers();
  for (const [name, value] of sent.headers) headers.append(name, value);
  const query = sent.query ? (sent.query.startsWith("?") ? sent.query : `?${sent.query}`) : "";
  const init: RequestInit & { duplex?: "half" } = {
    method: sent.method,
    headers,
    signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
  };
  if (sent.body !== undefined) {
    const bytes = sent.body;
    if (sent.chunked) {
      init.body = new ReadableStream({
        start(controller) {
          for (let at = 0; at < bytes.byteLength; at += 16 * 1024) {
            controller.enqueue(bytes.slice(at, at + 16 * 1024));
          }
          controller.close();
        },
      });
      init.duplex = "half";
    } else {
      init.body = bytes;
    }
  }
  const response = await fetch(`${ORCH}/${sent.route}${query}`, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/**
 * alice: intent.sync bodies. bob: day.run bodies (never has an intent, so a valid body is a
 * 409). carol: day.done bodies (has one session). erin and frank: headers and routes.
 */
const USER_NAMES = ["alice", "bob", "carol", "erin", "frank"] as const;
let users!: Record<(typeof USER_NAMES)[number], string>;
let tokens!: Record<
  "alice" | "bob" | "carol" | "erin" | "service" | "anon" | "erinExpired",
  string
>;
const NOBODY = crypto.randomUUID();
/**
 * Ids not in auth.users: the service role acting for one (or a still-valid token of a deleted
 * user) is 401 "This account does not exist." on user routes. (It was a 500 from the rate
 * limiter's foreign key before the fuzzer found it.)
 */
const NO_SUCH_USERS = [NOBODY, "00000000-0000-0000-0000-000000000000"];

async function setUp(): Promise<void> {
  stack = await startTestStack(BACKEND);
  ORCH = `${stack.functionsUrl}/orchestrator`;
  const ids: string[] = [];
  for (const _ of USER_NAMES) ids.push(await stack.createUser());
  users = Object.fromEntries(USER_NAMES.map((n, i) => [n, ids[i]])) as typeof users;
  tokens = {
    alice: await stack.userToken(users.alice),
    bob: await stack.userToken(users.bob),
    carol: await stack.userToken(users.carol),
    erin: await stack.userToken(users.erin),
    service: await stack.serviceToken(),
    anon: await stack.anonToken(),
    erinExpired: await mintUserJwt({
      secret: stack.config.jwtSecret!,
      userId: users.erin,
      expiresIn: "-5m",
    }),
  };
}

const VALID_INTENT = {
  topic: "Fuzzing",
  depth: "deep",
  end_goal: "Find the bugs",
  time_per_day_min: 30,
  user_tz: "UTC",
};
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const bearer = (token: string): [string, string] => ["authorization", `Bearer ${token}`];
const JSON_TYPE: [string, string] = ["content-type", "application/json"];

let carolSession = "";

/** One digest of everything a request could have changed. */
async function digest(): Promise<string> {
  const ids = Object.values(users).map((id) => `'${id}'`).join(",");
  const topics = Object.values(users).map((id) => `'wisely.events:${id}'`).join(",");
  const parts = [
    ...digestTables.map((t) =>
      `select '${t} ' || t::text as x from wisely.${t} t where user_id in (${ids})`
    ),
    `select 'settings ' || t::text from wisely.settings t`,
    `select 'agents ' || t::text from wisely.agents t`,
    `select 'messages ' || t::text from realtime.messages t where topic in (${topics})`,
  ];
  const [row] = await stack.sql.unsafe(
    `select md5(coalesce(string_agg(x, E'\\n' order by x), '')) as d from (${
      parts.join(" union all ")
    }) s`,
  );
  return row.d;
}
let stored = "";

// --- the invariant -------------------------------------------------------------------------

async function check(property: string, sent: Sent, outcome: Outcome): Promise<void> {
  counts[property] = (counts[property] ?? 0) + 1;
  let received: Received;
  try {
    received = await rawRequest(sent);
  } catch (cause) {
    throw new Error(`no answer (hang or reset) for ${describe(sent)}`, { cause });
  }
  const { status, headers, text: body } = received;
  (statuses[property] ??= {})[status] = (statuses[property][status] ?? 0) + 1;
  const context = () => `${status} ${body.slice(0, 400)}\n  for ${describe(sent)}`;

  assert.notEqual(status, 500, `500: ${context()}`);
  assert.ok(status in CODES || SUCCESS.includes(status), `status not in the spec: ${context()}`);
  assert.equal(headers.get("access-control-allow-origin"), "*", `no CORS: ${context()}`);
  if (status === 204) assert.equal(sent.method, "OPTIONS", `204 for a non-preflight: ${context()}`);

  if (status >= 400) {
    if (sent.method !== "HEAD") {
      assert.match(headers.get("content-type") ?? "", /^application\/json; charset=utf-8$/);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new Error(`error body is not JSON: ${context()}`);
      }
      assert.ok(isObject(parsed), `error body is not an object: ${context()}`);
      const keys = Object.keys(parsed).sort();
      assert.ok(
        keys.join() === "code,error" || keys.join() === "code,details,error",
        `error body keys ${keys}: ${context()}`,
      );
      assert.ok(typeof parsed.error === "string" && parsed.error.length > 0, context());
      assert.ok(CODES[status].includes(parsed.code as string), `code for ${status}: ${context()}`);
      if ("details" in parsed) {
        assert.ok(Array.isArray(parsed.details) && parsed.details.length > 0, context());
        for (const detail of parsed.details as unknown[]) {
          assert.ok(isObject(detail), context());
          assert.deepEqual(Object.keys(detail).sort(), ["message", "path"], context());
          assert.equal(typeof detail.message, "string", context());
          assert.ok(
            Array.isArray(detail.path) &&
              detail.path.every((p) => typeof p === "string" || typeof p === "number"),
            context(),
          );
        }
      }
    }
    if (status === 429 || status === 503) assert.ok(headers.get("retry-after"), context());
    if (status === 405) assert.ok(headers.get("allow"), `405 without Allow: ${context()}`);
    // Rejected: nothing stored changed.
    const after = await digest();
    assert.equal(after, stored, `a rejected request changed the store: ${context()}`);
  } else {
    const type = headers.get("content-type") ?? "";
    if (sent.method !== "HEAD" && status !== 204) {
      if (/^text\/(csv|plain|event-stream)\b/.test(type)) {
        // Negotiated by Accept (sessions as CSV, metrics as Prometheus text).
        const accept = sent.headers.filter(([n]) => n === "accept").map(([, v]) => v).join();
        assert.ok(accept.includes(type.split(";")[0]), `unasked-for ${type}: ${context()}`);
      } else {
        assert.match(type, /^application\/json; charset=utf-8$/, context());
        assert.ok(isObject(JSON.parse(body)), `2xx body is not a JSON object: ${context()}`);
      }
    }
    stored = await digest();
  }

  // Rate limiting is allowed to answer anything first; the stack's limits are raised anyway.
  if (status === 429) return;
  switch (outcome.kind) {
    case "error": {
      const code = sent.method === "HEAD" ? outcome.code : JSON.parse(body).code;
      assert.deepEqual(
        [status, code],
        [outcome.status, outcome.code],
        `expected ${outcome.status} ${outcome.code}: ${context()}`,
      );
      break;
    }
    case "ok":
      assert.ok(outcome.statuses.includes(status), `expected ${outcome.statuses}: ${context()}`);
      break;
    case "authorized":
      assert.ok(![400, 401, 403].includes(status), `expected past auth: ${context()}`);
      break;
    case "any":
      break;
  }
}

// --- generators: JSON text ---------------------------------------------------------------------

/** Printable text of every kind: ASCII, any code point (incl. NUL and controls), graphemes. */
const anyString = (maxLength: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength }) },
  );

/** Strings with lone surrogates, NULs, RTL, emoji and other troublemakers. */
const nastyString = fc.oneof(
  fc.constantFrom(
    "a\u0000b",
    "\u0000",
    "\ud800",
    "x\udc00y",
    "\ud83d",
    "🚀\ud83d",
    "\uFEFF",
    "\uFEFFtopic",
    "\uFFFF",
    "\uFFFE",
    "e\u0301",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u202Eevil\u202C",
    "\u2028\u2029",
    "\u00a0\u00a0",
    "\u3000x\u3000",
    "\t\n\r",
    "\u0001\u001f\u007f",
    "🚀".repeat(100),
    "🚀".repeat(101),
    "👩‍👩‍👧‍👦".repeat(30),
    "'; drop table wisely.intents; --",
    "${7*7}{{7*7}}",
    "<script>alert(1)</script>",
  ),
  fc.array(
    fc.oneof(
      fc.integer({ min: 0xd800, max: 0xdfff }),
      fc.integer({ min: 0, max: 0x10ffff }),
    ),
    { maxLength: 12 },
  ).map((units) =>
    units.map((u) => u <= 0xffff ? String.fromCharCode(u) : String.fromCodePoint(u)).join("")
  ),
);

/** A string field of `max` characters: short, at the bounds, huge (under and over 64 KiB). */
const stringField = (max: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }) },
    { weight: 2, arbitrary: anyString(40) },
    { weight: 2, arbitrary: nastyString },
    {
      weight: 2,
      arbitrary: fc.constantFrom(max - 1, max, max + 1).chain((n) =>
        fc.constantFrom("x".repeat(n), ` ${"y".repeat(n)} `, "é".repeat(n))
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(5_000, 60_000, 65_400, 66_000, 200_000).map((n) => "z".repeat(n)),
    },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "   ") },
  ).map((s) => JSON.stringify(s));

/** Any JSON value's text, mostly small. */
const anyJsonText = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.constantFrom("null", "true", "false", "[]", "{}", '""', "0", "-0", "1e309", "-1e309"),
);

/** Literal numbers whose JSON spelling matters: -0, 1e309, 5.0, exponents, beyond 2^53. */
const NUMBER_LITERALS = [
  "-0",
  "-0.0",
  "0e0",
  "1e309",
  "-1e309",
  "1e-400",
  "5.0",
  "0.5e1",
  "1E1",
  "1e2",
  "4.9999999999999999",
  "7.0000000000000001",
  "9007199254740993",
  "1e21",
  "-1",
  "0.1",
  "1.5",
  "2147483648",
];

/** An integer field bounded by [min, max]: in range, at and beyond bounds, floats, wrong types. */
const intField = (min: number, max: number) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min, max }).map(String) },
    { weight: 2, arbitrary: fc.constantFrom(min, max, min - 1, max + 1).map(String) },
    { weight: 1, arbitrary: fc.integer().map(String) },
    {
      weight: 1,
      arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
    },
    { weight: 2, arbitrary: fc.constantFrom(...NUMBER_LITERALS) },
    { weight: 1, arbitrary: fc.integer({ min, max }).map((n) => JSON.stringify(String(n))) },
    { weight: 1, arbitrary: anyJsonText },
  );

const boolField = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("true", "false") },
  { weight: 1, arbitrary: fc.constantFrom('"true"', "1", "0", "null", '"false"', "[]") },
);

/** A meta object that is valid as far as its generator knows: small JSON, a valid plan_time. */
const goodMeta = fc.tuple(
  fc.dictionary(
    fc.string({ unit: "grapheme", maxLength: 8 }).filter((k) => k !== "plan_time"),
    fc.jsonValue({ maxDepth: 3, stringUnit: "grapheme" }),
    { maxKeys: 5 },
  ),
  fc.option(fc.stringMatching(/^([01]\d|2[0-3]):[0-5]\d$/), { nil: undefined }),
).map(([meta, planTime]) => JSON.stringify(planTime ? { ...meta, plan_time: planTime } : meta));

/** A meta object: small values, plan_time, deep nesting, nasty strings, number-heavy, big. */
const metaField = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), {
      maxKeys: 4,
    }).map((m) => JSON.stringify(m)),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constantFrom(
        "07:30",
        "00:00",
        "23:59",
        "24:00",
        "7:30",
        "07:60",
        "",
        "07:30:00",
        " 07:30",
      ),
      fc.stringMatching(/^\d{2}:\d{2}$/),
    ).map((t) => JSON.stringify({ plan_time: t })),
  },
  { weight: 1, arbitrary: fc.constantFrom('{"plan_time":730}', '{"plan_time":null}') },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.integer({ min: 1, max: 40 }),
      fc.constantFrom(31, 32, 33, 63, 64, 65, 1000, 10_000),
    )
      .chain((depth) =>
        fc.constantFrom("[", '{"k":').map((open) => {
          const close = open === "[" ? "]" : "}";
          return `{"deep":${open.repeat(depth - 1)}1${close.repeat(depth - 1)}}`;
        })
      ),
  },
  { weight: 2, arbitrary: nastyString.map((s) => JSON.stringify({ note: s })) },
  { weight: 1, arbitrary: nastyString.map((s) => JSON.stringify({ [s]: 1 })) },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.integer({ min: 1, max: 40 }),
      fc.constantFrom(
        "1e-300",
        "5e-324",
        "1.7976931348623157e308",
        "1e21",
        "-1e-7",
        "0.1",
        "1e309",
      ),
    ).map(([n, literal]) =>
      `{${Array.from({ length: n }, (_, i) => `"k${i}":${literal}`).join(",")}}`
    ),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 8_000, max: 8_400 }).map((n) =>
      JSON.stringify({ pad: "p".repeat(n) })
    ),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1_500, max: 2_100 }).map((n) =>
      JSON.stringify({ list: Array.from({ length: n }, (_, i) => i % 10) })
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("[]", '"meta"', "null", "1", '{"__proto__":{"plan_time":"08:00"}}'),
  },
);

const tzField = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...TZ_VALID) },
  { weight: 2, arbitrary: fc.constantFrom(...TZ_INVALID) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("Etc/GMT+5", "Asia/Calcutta", "EST5EDT", "+01:00", "Europe/Kyiv"),
  },
  { weight: 1, arbitrary: anyString(20) },
).map((s) => JSON.stringify(s));

/** A JSON string literal, sometimes with every UTF-16 unit spelled as a \u escape. */
const stringLiteral = (arb: fc.Arbitrary<string>) =>
  fc.tuple(arb, fc.integer({ min: 0, max: 7 })).map(([value, n]) =>
    n === 0
      ? `"${
        value.split("").map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")
      }"`
      : JSON.stringify(value)
  );

/** Valid text of 1–`max` characters: any printable graphemes, scripts, bounds, escapes. */
const goodText = (max: number) =>
  stringLiteral(fc.oneof(
    {
      weight: 6,
      arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((s) =>
        s.trim().length > 0
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "🚀 ML",
        "تعلم الآلة",
        "שלום עולם",
        "e\u0301",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "  padded  ",
        "\u202Eevil\u202C",
        'a"b\\c/d',
        "\ttab\n",
        "'; drop table wisely.intents; --",
        "\uFFFF\uFFFE",
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom("x".repeat(max), "🚀".repeat(max), ` ${"y".repeat(max)} `),
    },
  ));

/** A valid integer in [min, max], spelled as JSON allows: 5, 5.0, 5e0, 0.5e1, -0. */
const goodInt = (min: number, max: number) =>
  fc.tuple(fc.integer({ min, max }), fc.integer({ min: 0, max: 9 })).map(([n, spelling]) =>
    spelling === 0
      ? `${n}.0`
      : spelling === 1
      ? n.toExponential()
      : spelling === 2 && n === 0
      ? "-0"
      : String(n)
  );

const JSON_WS = fc.constantFrom("", "", "", " ", "\n", "\t", "\r\n  ");

/** A key spelled with a unicode escape: the same key to a JSON parser. */
function escapeKey(key: string): string {
  if (key.length === 0) return '""';
  return `"\\u${key.charCodeAt(0).toString(16).padStart(4, "0")}${
    JSON.stringify(key.slice(1)).slice(1)
  }`;
}

interface BodyCase {
  bytes: Uint8Array<ArrayBuffer>;
  /** A key appears twice in one object. */
  duplicate: boolean;
  label: string;
}

/**
 * One field of a route's body: `good` values (valid by the spec, in every spelling), `wide`
 * values (anything: wrong types, bounds, nasty text; valid or not), and whether it may be left
 * out. The oracle decides validity from the parsed value; these only steer the mix.
 */
interface FieldSpec {
  good: fc.Arbitrary<string>;
  wide: fc.Arbitrary<string>;
  required: boolean;
}

/** Rarely: `arb`; else null. */
const rarely = <T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

/**
 * Objects with the route's fields (mostly good, sometimes anything, sometimes missing), and
 * rarely extra keys, a duplicate key, escaped key spellings; odd whitespace and key order.
 * About a third come out valid.
 */
function objectBody(fields: Record<string, FieldSpec>): fc.Arbitrary<BodyCase> {
  const names = Object.keys(fields);
  return fc.record({
    present: fc.tuple(
      ...names.map((name) =>
        fc.oneof(
          { weight: 14, arbitrary: fields[name].good },
          { weight: 2, arbitrary: fields[name].wide },
          { weight: fields[name].required ? 1 : 6, arbitrary: fc.constant(null) },
        ).map((t) => t === null ? null : [name, t] as [string, string])
      ),
    ),
    extras: fc.oneof(
      { weight: 11, arbitrary: fc.constant([] as [string, string][]) },
      {
        weight: 1,
        arbitrary: fc.array(
          fc.tuple(
            fc.oneof(
              fc.string({ maxLength: 8 }),
              fc.constantFrom("__proto__", "constructor", "prototype", "", "TOPIC", "week "),
            ).filter((k) => !names.includes(k)),
            anyJsonText,
          ),
          { minLength: 1, maxLength: 2 },
        ),
      },
    ),
    duplicate: rarely(fc.tuple(fc.nat(), fc.boolean()), 12),
    escape: rarely(fc.nat(), 6),
    ws: JSON_WS,
    reverse: fc.boolean(),
  }).map(({ present, extras, duplicate, escape, ws, reverse }) => {
    const entries: [string, string, boolean][] = [
      ...present.filter((e): e is [string, string] => e !== null).map(([k, v]) =>
        [k, v, false] as [string, string, boolean]
      ),
      ...extras.map(([k, v]) => [k, v, false] as [string, string, boolean]),
    ];
    if (reverse) entries.reverse();
    let dup = false;
    if (duplicate && entries.length > 0) {
      const [index, escaped] = duplicate;
      const [k, v] = entries[index % entries.length];
      entries.push([k, v, escaped]);
      dup = true;
    }
    if (escape !== null && entries.length > 0) entries[escape % entries.length][2] = true;
    const text = `{${ws}${
      entries.map(([k, v, esc]) => `${esc ? escapeKey(k) : JSON.stringify(k)}${ws}:${ws}${v}`)
        .join(`,${ws}`)
    }${ws}}`;
    return { bytes: new TextEncoder().encode(text), duplicate: dup, label: "object" };
  });
}

const encode = (s: string) => new TextEncoder().encode(s);

/** Bodies that are not an object of the route: JSON of other types, broken JSON, deep, raw bytes. */
const otherBody: fc.Arbitrary<BodyCase> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).filter((v) => !isObject(v)).map((v) => ({
    bytes: encode(JSON.stringify(v) ?? "null"),
    duplicate: false,
    label: "non-object",
  })),
  fc.constantFrom(
    "",
    " ",
    "{",
    "}",
    "{'week':1}",
    '{"week":1,}',
    '{"week":1 "day":2}',
    "{week:1}",
    '{"week":NaN}',
    '{"week":Infinity}',
    '{"week":01}',
    '{"week":1} trailing',
    '{"a":"\t"}',
    "/* comment */ {}",
    "null",
    "[]",
    '"str"',
    "\uFEFF{}",
    '{"a":1}{"b":2}',
  ).map((text) => ({ bytes: encode(text), duplicate: false, label: "malformed" })),
  fc.tuple(
    fc.oneof(fc.integer({ min: 1, max: 130 }), fc.constantFrom(63, 64, 65, 10_000, 30_000, 40_000)),
    fc.constantFrom("array", "object", "field"),
  ).map(([depth, shape]) => {
    const text = shape === "array"
      ? "[".repeat(depth) + "]".repeat(depth)
      : shape === "object"
      ? '{"a":'.repeat(depth) + "1" + "}".repeat(depth)
      : `{"week":${"[".repeat(depth - 1)}1${"]".repeat(depth - 1)},"day":1}`;
    return { bytes: encode(text), duplicate: false, label: `deep ${shape} ${depth}` };
  }),
  fc.constantFrom(
    [0x7b, 0xff, 0x7d],
    [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d], // overlong "/"
    [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d], // CESU surrogate
    [0xef, 0xbb, 0xbf, 0x7b, 0x7d], // UTF-8 BOM + {}
    [0xfe, 0xff, 0x00, 0x7b, 0x00, 0x7d], // UTF-16
    [0x00],
  ).map((bytes) => ({ bytes: new Uint8Array(bytes), duplicate: false, label: "bytes" })),
);

/** Content types: JSON spelled every acceptable way (mostly), and everything else. */
const JSON_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json;charset=UTF-8",
  'application/json; charset="utf-8"',
  "Application/JSON",
  "application/vnd.api+json",
  "application/problem+json",
  "application/json; foo=bar",
];
const OTHER_TYPES = [
  null,
  "",
  "text/plain",
  "text/plain; charset=utf-8",
  "multipart/form-data; boundary=xyz",
  "application/x-www-form-urlencoded",
  "application/json; charset=latin1",
  "application/json; charset=iso-8859-1",
  "application/json; charset=utf-16",
  "application/jsonx",
  "application/json-seq",
  "application/xml",
  "*/*",
  "json",
];
const contentType = fc.oneof(
  { weight: 11, arbitrary: fc.constantFrom(...JSON_TYPES) },
  { weight: 1, arbitrary: fc.constantFrom(...OTHER_TYPES) },
);

/** Padding that takes a body under or over 64 KiB (added as an unknown key, so invalid). */
const padding = rarely(
  fc.constantFrom(1_000, MAX_BODY - 200, MAX_BODY - 40, MAX_BODY + 1, MAX_BODY + 500, 300_000),
  12,
);

interface PostCase {
  body: BodyCase;
  contentType: string | null;
  pad: number | null;
  chunked: boolean;
}

const postCase = (fields: Record<string, FieldSpec>): fc.Arbitrary<PostCase> =>
  fc.record({
    body: fc.oneof({ weight: 8, arbitrary: objectBody(fields) }, {
      weight: 1,
      arbitrary: otherBody,
    }),
    contentType,
    pad: padding,
    chunked: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
  }).map((c) => {
    if (c.pad === null || c.body.label !== "object") return c;
    // Replace the closing brace with an unknown key holding the padding.
    const text = new TextDecoder().decode(c.body.bytes).trimEnd();
    const inner = text.slice(0, -1).trimEnd();
    const sep = inner.endsWith("{") ? "" : ",";
    const filler = Math.max(0, c.pad - inner.length - 12);
    const bytes = encode(`${inner}${sep}"_pad":"${"q".repeat(filler)}"}`);
    return { ...c, body: { ...c.body, bytes, label: `object padded to ${bytes.byteLength}` } };
  });

// --- the oracle --------------------------------------------------------------------------------

function isJsonType(type: string | null): boolean {
  return type !== null && JSON_TYPES.includes(type);
}

/** Transport-level expectation; null when the body reaches the route's schema as `value`. */
function transport(c: PostCase): { outcome: Outcome } | { value: unknown } {
  const { bytes } = c.body;
  if (bytes.byteLength > MAX_BODY) return { outcome: error(413, "PAYLOAD_TOO_LARGE") };
  if (bytes.byteLength === 0) return { value: {} };
  if (!isJsonType(c.contentType)) return { outcome: error(415, "UNSUPPORTED_MEDIA_TYPE") };
  let textBody: string;
  try {
    textBody = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { outcome: invalid };
  }
  let value: unknown;
  try {
    value = JSON.parse(textBody);
  } catch {
    return { outcome: invalid };
  }
  if (c.body.duplicate || depthOf(value) > 64) return { outcome: invalid };
  return { value };
}

async function intentOracle(v: unknown): Promise<Outcome> {
  if (!isObject(v)) return invalid;
  const keys = ["topic", "depth", "end_goal", "time_per_day_min", "user_tz", "meta"];
  if (!onlyKeys(v, keys)) return invalid;
  if (!text(v.topic, 1, 200, true)) return invalid;
  if (typeof v.depth !== "string" || !DEPTHS.includes(v.depth)) return invalid;
  if (!text(v.end_goal, 1, 500, true)) return invalid;
  if (!safeInt(v.time_per_day_min, 5, 480)) return invalid;
  let unsure = false;
  if (v.user_tz !== undefined) {
    if (typeof v.user_tz === "string" && TZ_VALID.includes(v.user_tz)) { /* valid */ }
    else if (typeof v.user_tz !== "string" || TZ_INVALID.includes(v.user_tz)) return invalid;
    else unsure = true;
  }
  if (v.meta !== undefined) {
    const meta = v.meta;
    if (!isObject(meta)) return invalid;
    if (depthOf(meta) > 32) return invalid;
    if (!everyString(meta, storable) || !finiteNumbers(meta)) return invalid;
    if (meta.plan_time !== undefined) {
      if (typeof meta.plan_time !== "string" || !PLAN_TIME.test(meta.plan_time)) return invalid;
    }
    if (Object.hasOwn(meta, "__proto__")) unsure = true;
    // `::text` first: a parameter typed jsonb would be JSON-encoded again by postgres.js.
    // Postgres itself says how big the stored jsonb is (the database's own CHECK measures it).
    const [{ bytes }] = await stack.sql`
      select octet_length(${JSON.stringify(meta)}::text::jsonb::text) as bytes
    `;
    if (bytes > 8192) return invalid;
  }
  return unsure ? { kind: "any" } : ok(200, 201);
}

function dayRunOracle(v: unknown): Outcome {
  if (!isObject(v)) return invalid;
  if (!onlyKeys(v, ["week", "day", "force_refresh", "research"])) return invalid;
  if (!safeInt(v.week, 1, 520) || !safeInt(v.day, 1, 7)) return invalid;
  for (const flag of [v.force_refresh, v.research]) {
    if (flag !== undefined && typeof flag !== "boolean") return invalid;
  }
  return error(409, "NO_ACTIVE_INTENT"); // bob never has an intent
}

function dayDoneOracle(v: unknown): Outcome {
  if (!isObject(v)) return invalid;
  if (!onlyKeys(v, ["session_id", "completion_time_min", "confidence", "notes"])) return invalid;
  if (typeof v.session_id !== "string" || !UUID_RE.test(v.session_id)) return invalid;
  if (!safeInt(v.completion_time_min, 0, 1440) || !safeInt(v.confidence, 1, 10)) return invalid;
  if (v.notes !== undefined && v.notes !== null && !text(v.notes, 0, 2000, false)) return invalid;
  return v.session_id.toLowerCase() === carolSession ? ok(200) : error(404, "SESSION_NOT_FOUND");
}

function postSent(route: string, token: string, c: PostCase): Sent {
  const headers: [string, string][] = [bearer(token)];
  if (c.contentType !== null) headers.push(["content-type", c.contentType]);
  return { method: "POST", route, headers, body: c.body.bytes, chunked: c.chunked };
}

async function postProperty(
  property: string,
  route: string,
  token: string,
  fields: Record<string, FieldSpec>,
  oracle: (value: unknown) => Outcome | Promise<Outcome>,
) {
  await fc.assert(
    fc.asyncProperty(postCase(fields), async (c) => {
      const t = transport(c);
      const outcome = "outcome" in t ? t.outcome : await oracle(t.value);
      await check(property, postSent(route, token, c), outcome);
    }),
    { numRuns: RUNS, endOnFailure: true },
  );
}

// --- headers and routes ---------------------------------------------------------------------

const headerChar = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) =>
  String.fromCharCode(c)
);
const headerValue = (maxLength: number) => fc.string({ unit: headerChar, maxLength });

type Principal = { kind: "user"; id: string } | { kind: "service" } | { kind: "none" };

interface AuthCase {
  headers: [string, string][];
  principal: Principal;
  label: string;
}
const auth = (label: string, principal: Principal, ...headers: [string, string][]): AuthCase => ({
  headers,
  principal,
  label,
});
const NONE: Principal = { kind: "none" };

/** Authorization: user and service tokens (scheme spellings), anon, expired, garbage, repeats. */
const authHeader = (): fc.Arbitrary<AuthCase> => {
  const erin: Principal = { kind: "user", id: users.erin };
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.constantFrom("Bearer ", "bearer ", "BEARER ", "Bearer    ").map((scheme) =>
        auth("erin", erin, ["authorization", `${scheme}${tokens.erin}`])
      ),
    },
    {
      weight: 4,
      arbitrary: fc.constant(auth("service", { kind: "service" }, bearer(tokens.service))),
    },
    { weight: 1, arbitrary: fc.constant(auth("none", NONE)) },
    { weight: 1, arbitrary: fc.constant(auth("anon", NONE, bearer(tokens.anon))) },
    { weight: 1, arbitrary: fc.constant(auth("expired", NONE, bearer(tokens.erinExpired))) },
    {
      weight: 1,
      arbitrary: headerValue(60).map((v) => auth("garbage", NONE, ["authorization", v])),
    },
    {
      weight: 1,
      arbitrary: headerValue(60).map((v) =>
        auth("bearer garbage", NONE, ["authorization", `Bearer ${v}`])
      ),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 8_193, max: 12_000 }).map((n) =>
        auth("long", NONE, ["authorization", `Bearer ${"A".repeat(n)}`])
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        auth("two", NONE, bearer(tokens.erin), bearer(tokens.erin)),
        auth("two", NONE, bearer(tokens.erin), bearer(tokens.service)),
        auth("two", NONE, bearer(tokens.erin), ["authorization", "Bearer a.b.c"]),
        auth("suffix", NONE, ["authorization", `Bearer ${tokens.erin}.x`]),
        auth("basic", NONE, ["authorization", `Basic ${btoa("erin:pw")}`]),
        auth("pair", NONE, ["authorization", `Bearer ${tokens.erin} ${tokens.erin}`]),
      ),
    },
  );
};

interface UserIdCase {
  values: string[];
  label: string;
}
const userId = (label: string, ...values: string[]): UserIdCase => ({ values, label });

/** X-User-ID: absent, the user (any case), another user, nobody, garbage, repeated. */
const userIdHeader = (): fc.Arbitrary<UserIdCase> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(userId("absent")) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(users.erin, users.erin.toUpperCase(), ` ${users.erin} `).map((v) =>
        userId("erin", v)
      ),
    },
    { weight: 2, arbitrary: fc.constant(userId("frank", users.frank)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...NO_SUCH_USERS, NOBODY.toUpperCase()).map((v) =>
        userId("nobody", v)
      ),
    },
    { weight: 1, arbitrary: fc.constant(userId("empty", "")) },
    { weight: 2, arbitrary: headerValue(50).map((v) => userId("garbage", v)) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1_000, max: 12_000 }).map((n) => userId("long", "9".repeat(n))),
    },
    { weight: 1, arbitrary: fc.constant(userId("twice", users.erin, users.erin)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `{${users.frank}}`,
        users.frank.replaceAll("-", ""),
        `${users.frank},`,
        "ffffffff-ffff-ffff-ffff-fffffffffffg",
      ).map((v) => userId("uuid-ish", v)),
    },
  );

/** Headers that must not change the outcome. Total stays well under the server's 64 KiB. */
const oddHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.oneof(
    fc.integer({ min: 1, max: 24_000 }).map((
      n,
    ): [string, string] => ["x-client-info", "c".repeat(n)]),
    headerValue(40).map((v): [string, string] => ["apikey", v]),
    fc.oneof(
      headerValue(60),
      fc.constantFrom(
        "00-00000000000000000000000000000000-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      ),
    ).map((v): [string, string] => ["traceparent", v]),
    fc.constantFrom(
      "application/json",
      "*/*",
      "text/html",
      "text/csv",
      "application/xml",
      "text/plain",
      "",
      "x/y;q=x",
    )
      .map((v): [string, string] => ["accept", v]),
    headerValue(40).map((v): [string, string] => ["cookie", v]),
    headerValue(40).map((v): [string, string] => ["x-forwarded-for", v]),
    fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), headerValue(80)),
  ),
  { maxLength: 5 },
).filter((headers) => headers.reduce((n, [k, v]) => n + k.length + v.length, 0) <= 24_000);

interface RouteSpec {
  method: string;
  auth: "none" | "user" | "service";
  /** A valid body, for the header property. */
  body?: () => Uint8Array<ArrayBuffer>;
}

/** Every route of spec 5.3–5.7. */
const ROUTES: Record<string, RouteSpec> = {
  "health": { method: "GET", auth: "none" },
  "openapi.json": { method: "GET", auth: "none" },
  "status": { method: "GET", auth: "user" },
  "sessions": { method: "GET", auth: "user" },
  "intent.sync": { method: "POST", auth: "user", body: () => json(VALID_INTENT) },
  "day.run": { method: "POST", auth: "user", body: () => json({ week: 1, day: 1 }) },
  "day.done": {
    method: "POST",
    auth: "user",
    body: () => json({ session_id: carolSession, completion_time_min: 30, confidence: 5 }),
  },
  "day.tick": { method: "POST", auth: "service" },
  "metrics": { method: "GET", auth: "service" },
};
/** day.tick with the service role runs every due plan: not a header-fuzzing target. */
const HEADER_ROUTES = Object.keys(ROUTES).filter((route) => route !== "day.tick");

function authOutcome(principal: Principal, userIds: string[], route: string): Outcome {
  const { auth } = ROUTES[route];
  if (auth === "none") return ok(200);
  if (principal.kind === "none") return error(401, "UNAUTHORIZED");
  if (auth === "service") {
    return principal.kind === "service" ? ok(200) : error(403, "FORBIDDEN");
  }
  // Repeated headers arrive joined by ", " (RFC 9110 §5.3).
  const joined = userIds.length ? userIds.join(", ").trim() : null;
  const named = joined === "" ? null : joined;
  if (principal.kind === "user") {
    if (named !== null && named.toLowerCase() !== principal.id) return error(403, "FORBIDDEN");
    return { kind: "authorized" };
  }
  if (named === null || !UUID_RE.test(named)) return invalid;
  if (!Object.values(users).includes(named.toLowerCase())) return error(401, "UNAUTHORIZED");
  return { kind: "authorized" };
}

/** Route names seen by the function: what follows the first `orchestrator` segment. */
function routeOf(path: string): string {
  const segments = new URL(`${ORCH}/${path}`).pathname.split("/").filter((s) => s !== "");
  return segments.slice(segments.indexOf("orchestrator") + 1).join("/");
}

/** Paths that stay inside the function (`..` could climb out to the gateway's own 404). */
function inFunction(path: string): boolean {
  return new URL(`${ORCH}/${path}`).pathname.startsWith("/functions/v1/orchestrator/");
}

const pathArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...Object.keys(ROUTES)) },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~-]{0,20}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "STATUS",
      "Status",
      "status.",
      "status/",
      "status//",
      "status/extra",
      "./status",
      "x/../status",
      "health/..",
      "%73tatus",
      "day%2Erun",
      "day.run%00",
      "intent.sync;x",
      "orchestrator",
      "orchestrator/status",
      "sessions",
      "day.tick",
      "metrics",
      "openapi.json",
      "..",
      "",
      "%F0%9F%9A%80",
      "a".repeat(2_000),
      "__proto__",
      "constructor",
      "hasOwnProperty",
    ),
  },
);

const queryArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  {
    weight: 3,
    arbitrary: fc.array(fc.tuple(anyString(10), anyString(20)), { maxLength: 5 }).map((pairs) =>
      "?" + new URLSearchParams(pairs.map(([k, v]) => [k.toWellFormed(), v.toWellFormed()]))
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "?%zz",
      "?a=%",
      "?&&&=&",
      "?limit=-1&cursor=%00",
      "?week=1&week=2",
      "?__proto__[x]=1",
      `?q=${"x".repeat(8_000)}`,
      "?" + "a=1&".repeat(500),
    ),
  },
);

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND", "FOO"];

// --- the tests -------------------------------------------------------------------------------

Deno.test({
  name: `[${BACKEND}] bad input over HTTP: never a 500, always the spec's error, nothing stored`,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await setUp();
    try {
      await stack.sql`
        update wisely.settings set value = ${stack.sql.json({ burst: 1e9, refill_per_s: 1e9 })}
        where key like 'rate.%'
      `;
      const tables = await stack.sql<{ table_name: string }[]>`
        select table_name from information_schema.columns
        where table_schema = 'wisely' and column_name = 'user_id' and table_name <> 'rate_limits'
        order by table_name
      `;
      digestTables = tables.map((r) => r.table_name);

      // carol: an intent and one session, so day.done has something real to complete.
      const sync = await rawRequest({
        method: "POST",
        route: "intent.sync",
        headers: [bearer(tokens.carol), JSON_TYPE],
        body: json(VALID_INTENT),
      });
      assert.equal(sync.status, 201, sync.text);
      const run = await rawRequest({
        method: "POST",
        route: "day.run",
        headers: [bearer(tokens.carol), JSON_TYPE],
        body: json({ week: 1, day: 1 }),
      });
      assert.equal(run.status, 201, run.text);
      carolSession = JSON.parse(run.text).session_id;
      stored = await digest();

      await t.step("corpus: named edge cases on every POST route", async () => {
        const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
        const cases: [string, string, string, Outcome][] = [
          // [route, token, body text, expected]
          ["day.run", tokens.bob, deep(10_000), invalid],
          ["day.run", tokens.bob, `{"week":${deep(10_000)},"day":1}`, invalid],
          ["day.run", tokens.bob, '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000), invalid],
          ["day.run", tokens.bob, "[".repeat(60_000), invalid],
          ["day.run", tokens.bob, deep(40_000), error(413, "PAYLOAD_TOO_LARGE")],
          ["day.run", tokens.bob, '{"week":1,"week":2,"day":1}', invalid],
          ["day.run", tokens.bob, '{"week":1,"w\\u0065ek":1,"day":1}', invalid],
          ["day.run", tokens.bob, '{"week":1e309,"day":1}', invalid],
          ["day.run", tokens.bob, '{"week":-0,"day":1}', invalid],
          ["day.run", tokens.bob, '{"week":1.0,"day":7.0}', error(409, "NO_ACTIVE_INTENT")],
          ["day.run", tokens.bob, '{"week":0.52e3,"day":1}', error(409, "NO_ACTIVE_INTENT")],
          ["day.run", tokens.bob, '{"week":521,"day":1}', invalid],
          ["day.run", tokens.bob, '{"week":1,"day":1,"force_refresh":"true"}', invalid],
          ["day.run", tokens.bob, "", invalid],
          ["day.run", tokens.bob, "null", invalid],
          ["day.run", tokens.bob, "[]", invalid],
          ["day.run", tokens.bob, '"week"', invalid],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, meta: { a: JSON.parse(deep(30)) } }),
            ok(200, 201),
          ],
          [
            "intent.sync",
            tokens.alice,
            `{"topic":"t","depth":"deep","end_goal":"g","time_per_day_min":60,"meta":{"a":${
              deep(10_000)
            }}}`,
            invalid,
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, topic: "a\u0000b" }),
            invalid,
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, topic: "a\ud800b" }),
            invalid,
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, topic: "🚀 ML" }),
            ok(200, 201),
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, topic: "تعلم الآلة" }),
            ok(200, 201),
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, topic: "🚀".repeat(200) }),
            ok(200, 201),
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, topic: "🚀".repeat(201) }),
            invalid,
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, meta: { k: "\u0000" } }),
            invalid,
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, meta: { "\u0000": 1 } }),
            invalid,
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, meta: { k: "\udfff" } }),
            invalid,
          ],
          [
            "intent.sync",
            tokens.alice,
            `{"topic":"t","depth":"deep","end_goal":"g","time_per_day_min":60,"meta":{${
              Array.from({ length: 30 }, (_, i) => `"k${i}":1e-300`).join(",")
            }}}`,
            invalid,
          ],
          // {"pad": "…"} as jsonb text: 8,181 p is 8,192 bytes; 8,182 is 8,193 (compact JSON: 8,192).
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, meta: { pad: "p".repeat(8_182) } }),
            invalid,
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, meta: { pad: "p".repeat(8_181) } }),
            ok(200, 201),
          ],
          [
            "intent.sync",
            tokens.alice,
            JSON.stringify({ ...VALID_INTENT, time_per_day_min: 480.0 }),
            ok(200, 201),
          ],
          [
            "intent.sync",
            tokens.alice,
            `{"topic":"t","depth":"deep","end_goal":"g","time_per_day_min":60,"meta":{"a":1,"a":2}}`,
            invalid,
          ],
          [
            "intent.sync",
            tokens.alice,
            `{"topic":"t","depth":"deep","end_goal":"g","time_per_day_min":60,"__proto__":{}}`,
            invalid,
          ],
          [
            "day.done",
            tokens.carol,
            JSON.stringify({
              session_id: carolSession,
              completion_time_min: 0,
              confidence: 1,
              notes: "a\u0000",
            }),
            invalid,
          ],
          [
            "day.done",
            tokens.carol,
            JSON.stringify({
              session_id: carolSession,
              completion_time_min: 0,
              confidence: 1,
              notes: "\ud800",
            }),
            invalid,
          ],
          [
            "day.done",
            tokens.carol,
            `{"session_id":"${carolSession}","completion_time_min":-0,"confidence":10}`,
            ok(200),
          ],
          [
            "day.done",
            tokens.carol,
            `{"session_id":"${carolSession.toUpperCase()}","completion_time_min":1440,"confidence":10,"notes":null}`,
            ok(200),
          ],
          [
            "day.done",
            tokens.carol,
            `{"session_id":"${carolSession}","completion_time_min":1441,"confidence":10}`,
            invalid,
          ],
          [
            "day.done",
            tokens.carol,
            `{"session_id":"${crypto.randomUUID()}","completion_time_min":1,"confidence":1}`,
            error(404, "SESSION_NOT_FOUND"),
          ],
          [
            "day.done",
            tokens.carol,
            `{"session_id":"00000000-0000-0000-0000-000000000000","completion_time_min":1,"confidence":1}`,
            error(404, "SESSION_NOT_FOUND"),
          ],
        ];
        for (const [route, token, body, outcome] of cases) {
          await check("corpus", {
            method: "POST",
            route,
            headers: [bearer(token), JSON_TYPE],
            body: encode(body),
          }, outcome);
        }
        const typed: [string | null, Outcome][] = [
          ["application/json; charset=latin1", error(415, "UNSUPPORTED_MEDIA_TYPE")],
          ["text/plain", error(415, "UNSUPPORTED_MEDIA_TYPE")],
          ["multipart/form-data; boundary=x", error(415, "UNSUPPORTED_MEDIA_TYPE")],
          [null, error(415, "UNSUPPORTED_MEDIA_TYPE")],
          ["application/json; charset=UTF-8", error(409, "NO_ACTIVE_INTENT")],
        ];
        for (const [type, outcome] of typed) {
          const headers: [string, string][] = [bearer(tokens.bob)];
          if (type !== null) headers.push(["content-type", type]);
          await check("corpus", {
            method: "POST",
            route: "day.run",
            headers,
            body: encode('{"week":1,"day":1}'),
          }, outcome);
        }
        // Over 64 KiB, declared and streamed.
        for (const chunked of [false, true]) {
          await check("corpus", {
            method: "POST",
            route: "intent.sync",
            headers: [bearer(tokens.alice), JSON_TYPE],
            body: json({ ...VALID_INTENT, meta: { pad: "x".repeat(70_000) } }),
            chunked,
          }, error(413, "PAYLOAD_TOO_LARGE"));
        }
      });

      await t.step(`models: duplicate-key scan and jsonb size (${RUNS} runs each)`, async () => {
        const keyed = fc.jsonValue({ maxDepth: 4, stringUnit: "binary" });
        // No false positives: whatever JSON.stringify writes has no duplicate key.
        fc.assert(
          fc.property(keyed, fc.constantFrom(undefined, 1, "\t"), (value, indent) => {
            counts["models"] = (counts["models"] ?? 0) + 1;
            assert.equal(checkJsonStructure(JSON.stringify(value, null, indent)), null);
          }),
          { numRuns: RUNS },
        );
        // Every duplicate is found, however the second key is spelled, wherever it sits.
        fc.assert(
          fc.property(
            fc.uniqueArray(fc.string({ unit: "binary", maxLength: 6 }), {
              minLength: 1,
              maxLength: 5,
            }),
            fc.nat(),
            fc.jsonValue({ maxDepth: 2 }),
            fc.array(fc.constantFrom("a", "b"), { maxLength: 4 }),
            (keys, pick, filler, path) => {
              counts["models"] = (counts["models"] ?? 0) + 1;
              const dup = keys[pick % keys.length];
              const escaped = `"${
                dup.split("").map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
                  .join("")
              }"`;
              const entries = keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(filler)}`);
              let text = `{${[...entries, `${escaped}:0`].join(",")}}`;
              for (const key of path.toReversed()) text = `{"${key}":[${text}]}`;
              const found = checkJsonStructure(text);
              assert.ok(found, text);
              assert.deepEqual(found.path, [...path.flatMap((k) => [k, 0]), dup]);
            },
          ),
          { numRuns: RUNS },
        );
        // The size schemas.ts computes is the size the database's CHECK measures.
        const literal = fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
          fc.constantFrom("1e-300", "5e-324", "1.7976931348623157e308", "1e21", "-1e-7", "123e-2"),
          fc.integer().map(String),
          fc.string({ unit: "grapheme", maxLength: 8 }).map((x) => JSON.stringify(x)),
          fc.string({ unit: "binary", maxLength: 8 }).map((x) =>
            JSON.stringify(x.replaceAll("\u0000", ""))
          ),
          fc.constantFrom("true", "false", "null", "[]", "{}", '[1,"x",[null]]', '{"k":{"j":[]}}'),
        );
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.tuple(fc.string({ unit: "grapheme", maxLength: 6 }), literal), {
              maxLength: 8,
            }),
            async (entries) => {
              counts["models"] = (counts["models"] ?? 0) + 1;
              const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
              // `::text` first: a parameter typed jsonb would be JSON-encoded again by postgres.js.
              const [{ bytes }] = await stack.sql`
                select octet_length(${JSON.stringify(JSON.parse(text))}::text::jsonb::text) as bytes
              `;
              assert.equal(jsonbTextBytes(JSON.parse(text)), bytes, text);
            },
          ),
          { numRuns: RUNS },
        );
      });

      await t.step(`day.run bodies (${RUNS} runs)`, async () => {
        const flag = { good: fc.constantFrom("true", "false"), wide: boolField, required: false };
        await postProperty("day.run body", "day.run", tokens.bob, {
          week: { good: goodInt(1, 520), wide: intField(1, 520), required: true },
          day: { good: goodInt(1, 7), wide: intField(1, 7), required: true },
          force_refresh: flag,
          research: flag,
        }, dayRunOracle);
      });

      await t.step(`intent.sync bodies (${RUNS} runs)`, async () => {
        await postProperty("intent.sync body", "intent.sync", tokens.alice, {
          topic: { good: goodText(200), wide: stringField(200), required: true },
          depth: {
            good: stringLiteral(fc.constantFrom(...DEPTHS)),
            wide: fc.oneof(
              fc.constantFrom("Deep", "shallow", "", " deep", "DEEP"),
              anyString(10),
            ).map((s) => JSON.stringify(s)),
            required: true,
          },
          end_goal: { good: goodText(500), wide: stringField(500), required: true },
          time_per_day_min: { good: goodInt(5, 480), wide: intField(5, 480), required: true },
          user_tz: {
            good: stringLiteral(fc.constantFrom(...TZ_VALID)),
            wide: tzField,
            required: false,
          },
          meta: { good: goodMeta, wide: metaField, required: false },
        }, intentOracle);
      });

      await t.step(`day.done bodies (${RUNS} runs)`, async () => {
        await postProperty("day.done body", "day.done", tokens.carol, {
          session_id: {
            good: fc.oneof(
              { weight: 3, arbitrary: fc.constantFrom(carolSession, carolSession.toUpperCase()) },
              { weight: 1, arbitrary: fc.uuid() },
            ).map((s) => JSON.stringify(s)),
            required: true,
            wide: fc.oneof(
              { weight: 2, arbitrary: fc.uuid({ version: [1, 4, 7, 8, 9, 15] }) },
              {
                weight: 2,
                arbitrary: fc.constantFrom(
                  "",
                  "x",
                  `{${carolSession}}`,
                  carolSession.replaceAll("-", ""),
                  `${carolSession} `,
                  `${carolSession}\u0000`,
                  "00000000-0000-0000-0000-000000000000",
                  "ffffffff-ffff-ffff-ffff-ffffffffffff",
                  "' or 1=1 --",
                ),
              },
              { weight: 1, arbitrary: anyString(40) },
            ).map((s) => JSON.stringify(s)),
          },
          completion_time_min: {
            good: goodInt(0, 1440),
            wide: intField(0, 1440),
            required: true,
          },
          confidence: { good: goodInt(1, 10), wide: intField(1, 10), required: true },
          notes: {
            good: fc.oneof(goodText(2000), fc.constant("null")),
            wide: fc.oneof(
              { weight: 3, arbitrary: stringField(2000) },
              { weight: 1, arbitrary: fc.constantFrom("1", "{}", '["n"]', '""') },
            ),
            required: false,
          },
        }, dayDoneOracle);
      });

      await t.step(`headers on every route (${RUNS * 2} runs)`, async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...HEADER_ROUTES),
            authHeader(),
            userIdHeader(),
            oddHeaders,
            async (route, auth, userId, odd) => {
              const spec = ROUTES[route];
              const headers: [string, string][] = [...auth.headers];
              for (const value of userId.values) headers.push(["x-user-id", value]);
              headers.push(...odd);
              if (spec.body) headers.push(JSON_TYPE);
              await check("headers", {
                method: spec.method,
                route,
                headers,
                body: spec.body?.(),
              }, authOutcome(auth.principal, userId.values, route));
            },
          ),
          { numRuns: RUNS * 2, endOnFailure: true },
        );
      });

      await t.step(
        "a user who does not exist: the service role for them, their token",
        async () => {
          const ghost = await stack.userToken(NOBODY);
          for (const route of HEADER_ROUTES) {
            const spec = ROUTES[route];
            for (const id of NO_SUCH_USERS) {
              await check("corpus", {
                method: spec.method,
                route,
                headers: [bearer(tokens.service), ["x-user-id", id], JSON_TYPE],
                body: spec.body?.(),
              }, authOutcome({ kind: "service" }, [id], route));
            }
            await check(
              "corpus",
              {
                method: spec.method,
                route,
                headers: [bearer(ghost), JSON_TYPE],
                body: spec.body?.(),
              },
              spec.auth === "user"
                ? error(401, "UNAUTHORIZED")
                : authOutcome({ kind: "user", id: NOBODY }, [], route),
            );
          }
        },
      );

      await t.step(`routes, methods and query strings (${RUNS * 2} runs)`, async () => {
        await fc.assert(
          fc.asyncProperty(
            pathArb.filter((path) => inFunction(path)),
            fc.constantFrom(...METHODS),
            queryArb,
            fc.option(fc.constantFrom("", "{}", '{"week":1,"day":1}', "x"), { freq: 2 }),
            async (path, method, query, bodyText) => {
              const route = routeOf(path);
              const known = Object.hasOwn(ROUTES, route) ? ROUTES[route] : undefined;
              const hasBody = bodyText !== null && method !== "GET" && method !== "HEAD";
              const headers: [string, string][] = [bearer(tokens.erin)];
              if (hasBody) headers.push(JSON_TYPE);
              let outcome: Outcome;
              // HEAD is GET without the body (RFC 9110 §9.3.2) wherever GET is served.
              const asMethod = method === "HEAD" && known?.method === "GET" ? "GET" : method;
              if (method === "OPTIONS") outcome = ok(204);
              else if (!known) outcome = error(404, "NOT_FOUND");
              // POST status (spec 5.6): no body or `{}` reads the status; any other body is 400.
              else if (route === "status" && method === "POST") {
                outcome = !hasBody || bodyText === "" || bodyText === "{}" ? ok(200) : invalid;
              } else if (known.method !== asMethod) outcome = error(405, "METHOD_NOT_ALLOWED");
              else if (known.auth === "service") outcome = error(403, "FORBIDDEN");
              else if (route === "sessions" && query !== "") outcome = { kind: "any" };
              else if (asMethod === "GET") outcome = ok(200);
              else if (!hasBody) outcome = invalid;
              else outcome = { kind: "any" };
              await check("routes", {
                method,
                route: path,
                query,
                headers,
                body: hasBody ? encode(bodyText!) : undefined,
              }, outcome);
            },
          ),
          { numRuns: RUNS * 2, endOnFailure: true },
        );
      });
    } finally {
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const http = Object.values(statuses).flatMap((byStatus) => Object.values(byStatus))
        .reduce((a, b) => a + b, 0);
      console.log(`fuzz [${BACKEND}]: ${total} generated cases, ${http} of them HTTP requests`);
      for (const [property, n] of Object.entries(counts)) {
        const byStatus = Object.entries(statuses[property] ?? {}).map(([s, k]) => `${s}×${k}`);
        console.log(`  ${property}: ${n}${byStatus.length ? ` (${byStatus.join(" ")})` : ""}`);
      }
      await stack.stop();
    }
  },
});
