/**
 * The production connection string (issue 8, item 2): percent-encoded passwords of any
 * characters, TLS for every host that is not local, the pooler's URL shape; and what the pool
 * hands postgres.js (its parsed `options`, no connection made).
 */
import assert from "node:assert/strict";
import { createPool, DEFAULT_POOL_MAX } from "../../supabase/functions/_shared/pool.ts";
import { isLocalHost, parseDatabaseUrl } from "../../supabase/functions/_shared/database_url.ts";

const NASTY_PASSWORD = "p@ss:w/rd?#% x+&=[]é";
const POOLER = `postgres://postgres.abcdefghij:${
  encodeURIComponent(NASTY_PASSWORD)
}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres`;

Deno.test("a percent-encoded password with @:/?#% and spaces is decoded exactly", () => {
  const target = parseDatabaseUrl(POOLER);
  assert.equal(target.password, NASTY_PASSWORD);
  assert.equal(target.user, "postgres.abcdefghij");
  assert.equal(target.host, "aws-0-eu-central-1.pooler.supabase.com");
  assert.equal(target.port, 6543);
  assert.equal(target.database, "postgres");
  assert.deepEqual(target.parameters, {});
});

Deno.test("an unencoded @ in the password still splits at the last @", () => {
  const target = parseDatabaseUrl("postgresql://u:p@ss@db.example.com/app");
  assert.equal(target.password, "p@ss");
  assert.equal(target.host, "db.example.com");
  assert.equal(target.port, 5432);
});

Deno.test("TLS: require for remote hosts, plain text on loopback, sslmode wins", () => {
  assert.equal(parseDatabaseUrl(POOLER).ssl, "require");
  assert.equal(parseDatabaseUrl("postgres://u@db.abc.supabase.co:5432/postgres").ssl, "require");
  for (const local of ["127.0.0.1", "localhost", "[::1]", "127.0.0.53"]) {
    assert.equal(parseDatabaseUrl(`postgres://u@${local}:5432/postgres`).ssl, false, local);
  }
  assert.equal(parseDatabaseUrl(`${POOLER}?sslmode=verify-full`).ssl, "verify-full");
  assert.equal(parseDatabaseUrl("postgres://u@localhost/x?sslmode=require").ssl, "require");
  assert.equal(parseDatabaseUrl("postgres://u@db.internal/x?sslmode=disable").ssl, false);
  assert.throws(() => parseDatabaseUrl("postgres://u@db/x?sslmode=verify-ca"), /sslmode/);
  assert.equal(isLocalHost("db.localhost.example.com"), false);
});

Deno.test("defaults and the other query parameters", () => {
  const target = parseDatabaseUrl("postgres://db.example.com?application_name=probe");
  assert.equal(target.user, "postgres");
  assert.equal(target.database, "postgres");
  assert.deepEqual(target.parameters, { application_name: "probe" });
});

Deno.test("malformed URLs are refused without echoing the password", () => {
  for (
    const bad of ["not a url", "http://db/x", "postgres:///nohost", "postgres://u:bad%zzpw@h/x"]
  ) {
    assert.throws(() => parseDatabaseUrl(bad), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.doesNotMatch(error.message, /bad%zzpw/);
      return true;
    }, bad);
  }
});

Deno.test("createPool hands postgres.js the decoded parts and TLS; no connection yet", async () => {
  const sql = createPool(POOLER);
  try {
    assert.equal(sql.options.pass, NASTY_PASSWORD);
    assert.equal(sql.options.user, "postgres.abcdefghij");
    assert.deepEqual(sql.options.host, ["aws-0-eu-central-1.pooler.supabase.com"]);
    assert.deepEqual(sql.options.port, [6543]);
    assert.equal(sql.options.ssl, "require");
    assert.equal(sql.options.max, DEFAULT_POOL_MAX);
    assert.equal(sql.options.prepare, false);
  } finally {
    await sql.end();
  }
  const local = createPool("postgres://postgres@127.0.0.1:5432/postgres", { max: 1 });
  try {
    assert.equal(local.options.ssl, false);
    assert.equal(local.options.max, 1);
  } finally {
    await local.end();
  }
});
