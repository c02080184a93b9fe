/**
 * The local stack's own parts: the gateway (in process and over HTTP), `deno task token`, and
 * `startStack` on every configured backend. Deno's resource and op sanitizers stay on, so a
 * stack that leaks a socket, timer or server after `stop()` fails here.
 */
import assert from "node:assert/strict";
import { jwtVerify } from "jose";
import { createGateway, type FetchHandler } from "../../dev/gateway.ts";
import { DEMO_USER_ID } from "../../dev/stack.ts";
import { startStack } from "../../dev/stack.ts";
import { ConfigError, LOCAL_JWT_SECRET } from "../../supabase/functions/_shared/config.ts";
import { type Backend, startTestStack, testBackends } from "../support/stack.ts";

const ROOT = new URL("../../", import.meta.url);

/** A stand-in function that describes the request it received. */
const echo: FetchHandler = {
  async fetch(req) {
    return Response.json({
      url: req.url,
      method: req.method,
      headers: Object.fromEntries(req.headers),
      body: await req.text(),
    });
  },
};

function gatewayWith(functions: Record<string, FetchHandler> = { echo }) {
  return createGateway(functions);
}

async function echoed(res: Response) {
  assert.equal(res.status, 200);
  const body = await res.json();
  return { url: new URL(body.url), method: body.method, headers: body.headers, body: body.body };
}

Deno.test("gateway: rewrites /functions/v1/<name>/<subpath> to /<name>/<subpath>", async () => {
  const res = await gatewayWith().fetch(
    new Request("http://127.0.0.1:54321/functions/v1/echo/sessions/page?limit=5&cursor=a%2Fb", {
      method: "POST",
      headers: { authorization: "Bearer t", "x-user-id": "u", "content-type": "text/plain" },
      body: "hello",
    }),
  );
  const seen = await echoed(res);
  assert.equal(seen.url.pathname, "/echo/sessions/page");
  assert.equal(seen.url.search, "?limit=5&cursor=a%2Fb");
  assert.equal(seen.url.origin, "http://127.0.0.1:54321");
  assert.equal(seen.method, "POST");
  assert.equal(seen.headers.authorization, "Bearer t");
  assert.equal(seen.headers["x-user-id"], "u");
  assert.equal(seen.body, "hello");
});

Deno.test("gateway: the bare function path and a trailing slash pass through", async () => {
  const gateway = gatewayWith();
  const bare = await echoed(await gateway.fetch(new Request("http://x/functions/v1/echo?a=1")));
  assert.equal(bare.url.pathname, "/echo");
  assert.equal(bare.url.search, "?a=1");
  const slash = await echoed(await gateway.fetch(new Request("http://x/functions/v1/echo/")));
  assert.equal(slash.url.pathname, "/echo/");
});

Deno.test("gateway: unknown functions and other paths answer 404 JSON", async () => {
  const gateway = gatewayWith();
  for (
    const path of [
      "/functions/v1/nope",
      "/functions/v1/nope/status",
      "/functions/v1/",
      "/functions/v1",
      "/functions/v1/constructor",
      "/functions/v2/echo",
      "/rest/v1/echo",
      "/echo",
    ]
  ) {
    const res = await gateway.fetch(new Request(`http://x${path}`, { method: "POST" }));
    assert.equal(res.status, 404, path);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await res.json(), { error: "Function not found", code: "NOT_FOUND" }, path);
  }
});

Deno.test("gateway: GET / lists the functions", async () => {
  const res = await gatewayWith({ echo, "agent-clo": echo }).fetch(new Request("http://x/"));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { functions: ["agent-clo", "echo"] });
});

Deno.test("gateway: streams the response without buffering it", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const encoder = new TextEncoder();
  const sse: FetchHandler = {
    fetch() {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode("event: agent\ndata: {}\n\n"));
          await released; // the rest only after the client has seen the first event
          controller.enqueue(encoder.encode("event: plan\ndata: {}\n\n"));
          controller.close();
        },
      });
      return Promise.resolve(
        new Response(body, { headers: { "content-type": "text/event-stream" } }),
      );
    },
  };
  const res = await gatewayWith({ sse }).fetch(new Request("http://x/functions/v1/sse/day.run"));
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  assert.equal(first.value, "event: agent\ndata: {}\n\n");
  release();
  let rest = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    rest += chunk.value;
  }
  assert.equal(rest, "event: plan\ndata: {}\n\n");
});

Deno.test("gateway: passes the request body as a stream and the abort signal", async () => {
  let forwarded: Request | null = null;
  const capture: FetchHandler = {
    fetch(req) {
      forwarded = req;
      return Promise.resolve(new Response(req.body));
    },
  };
  const controller = new AbortController();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode("streamed"));
      c.close();
    },
  });
  const res = await gatewayWith({ capture }).fetch(
    new Request("http://x/functions/v1/capture", {
      method: "POST",
      body,
      signal: controller.signal,
    }),
  );
  assert.equal(await res.text(), "streamed");
  assert.ok(forwarded);
  const seen: Request = forwarded;
  assert.equal(seen.signal.aborted, false);
  controller.abort();
  assert.equal(seen.signal.aborted, true);
});

Deno.test("gateway: a function that throws gives a 500 JSON error", async () => {
  const failures: string[] = [];
  const gateway = createGateway({
    broken: { fetch: () => Promise.reject(new Error("boom")) },
  }, { onError: (_error, name) => failures.push(name) });
  const res = await gateway.fetch(new Request("http://x/functions/v1/broken/status"));
  assert.equal(res.status, 500);
  assert.equal((await res.json()).code, "INTERNAL");
  assert.deepEqual(failures, ["broken"]);
});

async function runToken(args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "token", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

const processSecret = Deno.env.get("JWT_SECRET") ?? LOCAL_JWT_SECRET;
const processSupabaseUrl = Deno.env.get("SUPABASE_URL")?.trim().replace(/\/+$/, "") ||
  "http://127.0.0.1:54321";

Deno.test("deno task token: prints only the demo user's JWT, verifiable with the secret", async () => {
  const { code, stdout, stderr } = await runToken([]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const { payload, protectedHeader } = await jwtVerify(
    stdout.trim(),
    new TextEncoder().encode(processSecret),
    { audience: "authenticated", issuer: `${processSupabaseUrl}/auth/v1` },
  );
  assert.equal(protectedHeader.alg, "HS256");
  assert.equal(payload.sub, DEMO_USER_ID);
  assert.equal(payload.role, "authenticated");
  assert.equal(payload.email, "demo@wisely.local");
  assert.equal(typeof payload.session_id, "string");
  assert.ok(typeof payload.exp === "number" && payload.exp > Date.now() / 1000);
});

Deno.test("deno task token: USER_UUID, --service and --anon honour JWT_SECRET", async () => {
  const secretText = "a-test-secret-that-is-at-least-32-characters";
  const secret = new TextEncoder().encode(secretText);
  // The demo user needs no stack; any other id is created in the running stack first
  // (test/e2e/auth.test.ts covers that).
  const userId = DEMO_USER_ID;

  const user = await runToken([userId], { JWT_SECRET: secretText });
  assert.equal(user.code, 0, user.stderr);
  assert.equal((await jwtVerify(user.stdout.trim(), secret)).payload.sub, userId);

  const service = await runToken(["--service"], { JWT_SECRET: secretText });
  assert.equal(service.code, 0, service.stderr);
  const { payload } = await jwtVerify(service.stdout.trim(), secret);
  assert.equal(payload.role, "service_role");
  assert.equal(payload.sub, undefined);

  const anon = await runToken(["--anon"], { JWT_SECRET: secretText });
  assert.equal(anon.code, 0, anon.stderr);
  assert.equal((await jwtVerify(anon.stdout.trim(), secret)).payload.role, "anon");
  await assert.rejects(jwtVerify(anon.stdout.trim(), new TextEncoder().encode(LOCAL_JWT_SECRET)));
});

Deno.test("deno task token: bad arguments exit 2 with a message on stderr only", async () => {
  for (
    const args of [["not-a-uuid"], ["--service", DEMO_USER_ID], ["--service", "--anon"], ["-x"]]
  ) {
    const { code, stdout, stderr } = await runToken(args);
    assert.equal(code, 2, args.join(" "));
    assert.equal(stdout, "", args.join(" "));
    assert.match(stderr, /^token: .+\n/, args.join(" "));
  }
  const { stderr } = await runToken(["nope"]);
  assert.match(stderr, /"nope" is not a UUID/);
});

Deno.test("startStack: a bad variable fails before anything starts", async () => {
  await assert.rejects(
    startStack({ databaseUrl: null, port: 0, env: { JWT_SECRET: "too short" } }),
    (error) => error instanceof ConfigError && error.variable === "JWT_SECRET",
  );
});

/** A body the reference agents accept (spec 6.2). */
function agentRequest() {
  return {
    user_id: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    intent: {
      id: "9b2d4c1e-8f7a-4b3c-9d2e-1f0a3b4c5d6e",
      topic: "Rust ownership",
      depth: "informed",
      end_goal: "Write a safe CLI tool",
      time_per_day_min: 45,
      user_tz: "UTC",
    },
    week: 1,
    day: 1,
    research: false,
    history: {
      completed_sessions: 0,
      last_confidence: null,
      last_completion_time_min: null,
      last_hint: null,
    },
  };
}

/** True when nothing listens on the port any more. */
function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

for (const backend of testBackends()) {
  Deno.test(`stack on ${backend}: serves every function on a free port, stop() frees it`, async () => {
    const stack = await startTestStack(backend);
    let stopped = false;
    try {
      assert.equal(stack.kind, backend);
      const port = Number(new URL(stack.url).port);
      assert.ok(port > 0);
      assert.equal(stack.config.port, port);
      assert.equal(stack.config.edgeBaseUrl, stack.url);
      assert.equal(stack.functionsUrl, `${stack.url}/functions/v1`);

      const index = await fetch(`${stack.url}/`);
      assert.deepEqual(await index.json(), {
        functions: ["agent-alex", "agent-clo", "agent-socratic", "agent-ta", "orchestrator"],
      });

      const health = await fetch(`${stack.functionsUrl}/orchestrator/health`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).ok, true);

      const headers = {
        authorization: `Bearer ${await stack.serviceToken()}`,
        "content-type": "application/json",
        "x-idempotency-key": crypto.randomUUID(),
      };
      const body = JSON.stringify(agentRequest());
      const first = await fetch(`${stack.functionsUrl}/agent-clo`, {
        method: "POST",
        headers,
        body,
      });
      assert.equal(first.status, 200);
      const etag = first.headers.get("etag");
      assert.ok(etag, "ETag header");
      const reply = await first.json();
      assert.equal(reply.ok, true);
      assert.equal(typeof reply.data.title, "string");

      const again = await fetch(`${stack.functionsUrl}/agent-clo`, {
        method: "POST",
        headers: { ...headers, "if-none-match": etag },
        body,
      });
      assert.equal(again.status, 304);
      assert.equal(await again.text(), "");

      const missing = await fetch(`${stack.functionsUrl}/agent-nope/x?y=1`, { method: "POST" });
      assert.equal(missing.status, 404);
      assert.deepEqual(await missing.json(), { error: "Function not found", code: "NOT_FOUND" });

      await stack.stop();
      stopped = true;
      assert.ok(portIsFree(port), "the port is released");
      await stack.stop(); // idempotent
    } finally {
      if (!stopped) await stack.stop();
    }
  });
}

Deno.test("several stacks run side by side in one process", async () => {
  const backends: Backend[] = ["pglite", ...testBackends()];
  const stacks = await Promise.all(backends.map((backend) => startTestStack(backend)));
  try {
    const ports = new Set(stacks.map((stack) => stack.config.port));
    assert.equal(ports.size, stacks.length);
    for (const stack of stacks) {
      assert.equal(stack.config.edgeBaseUrl, stack.url);
      const userId = await stack.createUser();
      const [row] = await stack.sql`select id from auth.users where id = ${userId}`;
      assert.equal(row?.id, userId);
      const res = await fetch(`${stack.functionsUrl}/orchestrator/health`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
  } finally {
    await Promise.all(stacks.map((stack) => stack.stop()));
  }
});

Deno.test("startStack: a busy port fails at once and leaves nothing running", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const started = performance.now();
    await assert.rejects(
      startStack({ databaseUrl: null, port: busy.addr.port }),
      (error) =>
        error instanceof Error && error.message.includes(`${busy.addr.port}`) &&
        error.cause instanceof Deno.errors.AddrInUse,
    );
    // PGlite takes seconds to start; failing this fast proves it was never started.
    assert.ok(performance.now() - started < 1000);
  } finally {
    busy.close();
  }
});

/** A port nobody listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return listener.addr.port;
}

Deno.test("deno task start: serves health, prints tokens, stops on SIGINT", async () => {
  const port = freePort();
  // Its own data directory: a test never touches the repository's .pglite/.
  const dataDir = await Deno.makeTempDir({ prefix: "wisely_start_" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "start"],
    cwd: ROOT,
    // An empty SUPABASE_DB_URL means embedded PGlite, whatever the caller's environment says.
    env: { PORT: String(port), SUPABASE_DB_URL: "", WISELY_PGLITE_DIR: dataDir },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write() {} }),
  );
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    while (!out.includes("Ctrl-C stops the stack.")) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
    assert.match(out, new RegExp(`Functions URL +http://127\\.0\\.0\\.1:${port}/functions/v1`));
    assert.match(out, /up in \d+ ms\./);
    assert.ok(out.includes(`embedded PGlite, data in ${await Deno.realPath(dataDir)}`), out);
    const token = /^export WISELY_TOKEN=(\S+)$/m.exec(out)?.[1];
    assert.ok(token, "the demo user's token is printed");
    const { payload } = await jwtVerify(token, new TextEncoder().encode(processSecret));
    assert.equal(payload.sub, DEMO_USER_ID);

    const health = await fetch(`http://127.0.0.1:${port}/functions/v1/orchestrator/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).ok, true);
  } finally {
    try {
      child.kill("SIGINT");
    } catch {
      // It already exited; its status below says why.
    }
    // Drain stdout so the child is never blocked writing to a full pipe while stopping.
    for (let chunk = await lines.read(); !chunk.done; chunk = await lines.read()) {
      out += chunk.value;
    }
    await stderr;
  }
  const status = await child.status;
  await Deno.remove(dataDir, { recursive: true });
  assert.equal(status.code, 0, out);
  assert.match(out, /SIGINT: stopping…\nStopped\.\n$/);
});
