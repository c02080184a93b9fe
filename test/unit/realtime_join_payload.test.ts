/**
 * The `phx_join` payload as Realtime reads it: lenient (a field that does not parse takes its
 * default), FlexibleBoolean strings, `sb_` keys standing for the connection's apikey, and the
 * features the local stack refuses.
 */
import assert from "node:assert/strict";
import { parseJoinParams, unsupportedFeature } from "../../dev/realtime/join_payload.ts";

Deno.test("realtime-js's join payload", () => {
  const params = parseJoinParams({
    config: {
      broadcast: { ack: true, self: false },
      presence: { key: "", enabled: false },
      postgres_changes: [],
      private: true,
    },
    access_token: "eyJ.a.b",
    version: "realtime-js/2.119.0",
  });
  assert.deepEqual(params, {
    accessToken: "eyJ.a.b",
    private: true,
    ack: true,
    self: false,
    replicationReady: false,
    replay: false,
    presenceEnabled: false,
    postgresChanges: 0,
  });
  assert.equal(unsupportedFeature(params), null);
});

Deno.test("booleans may be strings; anything unparsable is the default", () => {
  const params = parseJoinParams({
    config: { broadcast: { self: "TRUE", ack: 3 }, private: "yes" },
  });
  assert.equal(params.self, true);
  assert.equal(params.ack, false);
  assert.equal(params.private, false);
  for (const payload of [null, "join", 42, [], { config: "x" }, { config: { broadcast: [] } }]) {
    const fallback = parseJoinParams(payload);
    assert.equal(fallback.private, false);
    assert.equal(fallback.accessToken, null);
  }
});

Deno.test("an sb_ key or no token means the connection's apikey; user_token wins", () => {
  assert.equal(parseJoinParams({ access_token: "sb_publishable_x" }).accessToken, null);
  assert.equal(parseJoinParams({ access_token: null }).accessToken, null);
  assert.equal(parseJoinParams({ access_token: 7 }).accessToken, null);
  assert.equal(parseJoinParams({ user_token: "u", access_token: "a" }).accessToken, "u");
  assert.equal(parseJoinParams({ user_token: "u", access_token: "sb_x" }).accessToken, null);
});

Deno.test("presence, postgres_changes and replay are refused with a reason", () => {
  const presence = unsupportedFeature(parseJoinParams({ config: { presence: { enabled: true } } }));
  assert.match(presence!, /^PresenceNotSupported: /);
  const changes = unsupportedFeature(
    parseJoinParams({ config: { postgres_changes: [{ event: "*", schema: "public" }, null] } }),
  );
  assert.match(changes!, /^PostgresChangesNotSupported: /);
  const publicReplay = unsupportedFeature(
    parseJoinParams({ config: { broadcast: { replay: { since: 1 } } } }),
  );
  assert.equal(publicReplay, "UnableToReplayMessages: Replay is not allowed for public channels");
  const nulls = parseJoinParams({ config: { postgres_changes: [null] } });
  assert.equal(unsupportedFeature(nulls), null, "null entries are dropped, as Realtime does");
});
