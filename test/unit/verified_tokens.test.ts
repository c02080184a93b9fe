import assert from "node:assert/strict";
import { withVerifiedTokenCache } from "../../supabase/functions/_shared/verified_tokens.ts";

function harness(options: { maxEntries?: number; maxAgeMs?: number } = {}) {
  let clock = 1_000_000_000_000;
  const calls: string[] = [];
  const exps = new Map<string, number | undefined>();
  const verify = withVerifiedTokenCache(
    (token: string) => {
      calls.push(token);
      if (token.startsWith("bad")) return Promise.reject(new Error("invalid"));
      return Promise.resolve({ token, exp: exps.get(token) });
    },
    (result) => result.exp,
    { ...options, now: () => clock },
  );
  return {
    verify,
    calls,
    exps,
    advance(ms: number) {
      clock += ms;
    },
    nowS: () => clock / 1000,
  };
}

Deno.test("a verified token is reused until its exp, then verified again", async () => {
  const h = harness();
  h.exps.set("t1", h.nowS() + 60);
  await h.verify("t1");
  await h.verify("t1");
  assert.deepEqual(h.calls, ["t1"]);
  h.advance(59_999);
  await h.verify("t1");
  assert.equal(h.calls.length, 1);
  h.advance(1);
  await h.verify("t1");
  assert.equal(h.calls.length, 2, "at exp the token is checked again (and jose rejects it)");
});

Deno.test("no verification is reused past maxAgeMs, whatever the exp", async () => {
  const h = harness({ maxAgeMs: 1000 });
  h.exps.set("t", h.nowS() + 3600);
  await h.verify("t");
  h.advance(999);
  await h.verify("t");
  h.advance(1);
  await h.verify("t");
  assert.equal(h.calls.length, 2);
});

Deno.test("failures and results without exp are never cached", async () => {
  const h = harness();
  await assert.rejects(h.verify("bad"));
  await assert.rejects(h.verify("bad"));
  await h.verify("no-exp");
  await h.verify("no-exp");
  assert.deepEqual(h.calls, ["bad", "bad", "no-exp", "no-exp"]);
});

Deno.test("the least recently used token is evicted beyond maxEntries", async () => {
  const h = harness({ maxEntries: 2 });
  for (const t of ["a", "b", "c"]) h.exps.set(t, h.nowS() + 60);
  await h.verify("a");
  await h.verify("b");
  await h.verify("a"); // a is now the most recent
  await h.verify("c"); // evicts b
  await h.verify("a");
  await h.verify("b");
  assert.deepEqual(h.calls, ["a", "b", "c", "b"]);
});
