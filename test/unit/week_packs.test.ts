/**
 * Answers served only for the days they cover (spec 6.1, 6.2; issue 9 item 1): week packs in
 * the protocol, the agent client and the reference agents, and agents of the original protocol
 * (single-day answers) next to them. The cache is an in-memory stand-in for
 * `wisely.agent_cache` that applies the client's writes as `wisely.store_agent_cache` does, on
 * a fake clock, so "24 hours later" needs no waiting.
 */
import assert from "node:assert/strict";
import {
  type CacheRow,
  type CacheWrite,
  pickCacheEntries,
  usableEntry,
} from "../../supabase/functions/_shared/agents/cache.ts";
import { agentRequestFor } from "../../supabase/functions/_shared/agents/agent_request.ts";
import { fanOut, type FanOutResult } from "../../supabase/functions/_shared/agents/client.ts";
import { parseAnswer } from "../../supabase/functions/_shared/agents/payload.ts";
import {
  AGENT_NAMES,
  type AgentName,
  type AgentRequest,
  CloDataSchema,
  type WeekPack,
} from "../../supabase/functions/_shared/agents/protocol.ts";
import {
  type PackAgent,
  REFERENCE_CONTENT,
  referenceAnswer,
  referencePack,
} from "../../supabase/functions/_shared/agents/reference/content.ts";
import { contentEtag } from "../../supabase/functions/_shared/agents/reference/etag.ts";
import { createReferenceAgent } from "../../supabase/functions/_shared/agents/reference/server.ts";
import { parseAgentRows } from "../../supabase/functions/_shared/agents/registry.ts";
import {
  answerCoverage,
  scopeKey,
  servingKeys,
} from "../../supabase/functions/_shared/agents/scope.ts";
import { type Config, loadConfig } from "../../supabase/functions/_shared/config.ts";
import {
  type Handler,
  routedFetch,
  SAMPLE_AGENT_REQUEST,
  scripted,
  withFault,
} from "../support/agent_fetch.ts";

const BASE = "http://agents.test";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const DAY_MS = 86_400_000;
const AGENTS = parseAgentRows([], BASE);
const urlOf = (name: AgentName) => `${BASE}/functions/v1/agent-${name}`;
const agentOf = (name: AgentName) => AGENTS.find((agent) => agent.name === name)!;

/** Week 3 of the sample intent, day by day. */
const REQUEST: AgentRequest = { ...SAMPLE_AGENT_REQUEST, week: 3, day: 1 };
const onDay = (day: number, request = REQUEST): AgentRequest => ({ ...request, day });
const INTENT_ID = REQUEST.intent.id;
const WEEK_KEY = scopeKey("intent_week", INTENT_ID, 3, 1);
const dayKey = (day: number) => scopeKey("intent_week_day", INTENT_ID, 3, day);

let cachedConfig: Config | null = null;
async function config(): Promise<Config> {
  cachedConfig ??= await loadConfig(
    new Map([["WISELY_LOCAL_STACK", "1"], ["WISELY_AGENT_FAULTS", "1"]]),
  );
  return cachedConfig;
}

/** Routes for the four reference agents, with per-agent overrides. */
async function referenceRoutes(
  overrides: Partial<Record<AgentName, Handler>> = {},
): Promise<Record<string, Handler>> {
  const routes: Record<string, Handler> = {};
  for (const name of AGENT_NAMES) {
    routes[urlOf(name)] = overrides[name] ??
      createReferenceAgent(name, { config: await config() }).fetch;
  }
  return routes;
}

/** An agent written to the original protocol: the reference agent, answering single days. */
async function originalProtocol(name: AgentName): Promise<Handler> {
  const agent = createReferenceAgent(name, { config: await config() });
  return withFault(agent.fetch, { single_day: true });
}

/** `wisely.agent_cache` of one user, in memory, written as `wisely.store_agent_cache` does. */
class MemoryCache {
  rows: CacheRow[] = [];

  apply(writes: readonly CacheWrite[], now: number): void {
    for (const write of writes) {
      const existing = this.rows.find((row) =>
        row.agent === write.agent && row.scope_key === write.scopeKey
      );
      if (write.kind === "revalidate") {
        if (!existing) continue;
        existing.validated_at = new Date(now);
        existing.etag = write.etag ?? existing.etag;
        continue;
      }
      const row: CacheRow = {
        agent: write.agent,
        scope_key: write.scopeKey,
        etag: write.etag,
        payload: structuredClone(write.payload),
        fetched_at: new Date(now),
        validated_at: new Date(now),
      };
      if (existing) Object.assign(existing, row);
      else this.rows.push(row);
    }
  }

  keys(agent: AgentName): string[] {
    return this.rows.filter((row) => row.agent === agent).map((row) => row.scope_key).sort();
  }
}

/** A learner's world: reference agents behind a recording fetch, a cache and a clock. */
async function world(overrides: Partial<Record<AgentName, Handler>> = {}) {
  const fake = routedFetch(await referenceRoutes(overrides));
  const cache = new MemoryCache();
  let clock = Date.parse("2026-03-02T07:00:00Z");
  const serviceKey = (await config()).edgeServiceKey;
  return {
    fake,
    cache,
    advance: (ms: number) => {
      clock += ms;
    },
    /** day.run's fan-out for `request`: served from the cache, writes applied after. */
    async run(request: AgentRequest, forceRefresh = false): Promise<FanOutResult> {
      const result = await fanOut({
        request,
        agents: AGENTS,
        cache: pickCacheEntries(AGENTS, cache.rows, {
          intentId: request.intent.id,
          week: request.week,
          day: request.day,
        }),
        forceRefresh,
        deadlineMs: 12_000,
        serviceKey,
        traceId: TRACE_ID,
        fetch: fake.fetch,
        now: () => clock,
      });
      cache.apply(result.cacheWrites, clock);
      return result;
    },
    calls: (name: AgentName) => fake.callsTo(urlOf(name)).length,
  };
}

const packOf = <N extends PackAgent>(name: N, request = REQUEST): WeekPack<N> =>
  referencePack(name, agentRequestFor(agentOf(name), request));

// ---------------------------------------------------------------------------------------------
// Protocol and scopes

Deno.test("scope: which keys may serve a day, and what an answer covers", () => {
  assert.deepEqual(servingKeys("intent", INTENT_ID, 3, 4), [
    { key: `intent:${INTENT_ID}`, coverage: "intent" },
  ]);
  assert.deepEqual(servingKeys("intent_week", INTENT_ID, 3, 4), [
    { key: `intent:${INTENT_ID}:w3`, coverage: "week" },
    { key: `intent:${INTENT_ID}:w3:d4`, coverage: "day" },
  ]);
  assert.deepEqual(servingKeys("intent_week_day", INTENT_ID, 3, 4), [
    { key: `intent:${INTENT_ID}:w3:d4`, coverage: "day" },
  ]);
  assert.equal(answerCoverage("intent_week", true), "week");
  assert.equal(answerCoverage("intent_week", false), "day", "an original-protocol answer");
  assert.equal(answerCoverage("intent", false), "intent");
  assert.equal(answerCoverage("intent_week_day", true), "day", "never asked for a pack");
});

Deno.test("protocol: week-scoped agents are asked for a pack, others not", () => {
  const asked = (name: AgentName) => agentRequestFor(agentOf(name), REQUEST).accept;
  assert.deepEqual(asked("clo"), ["week_pack"]);
  assert.deepEqual(asked("ta"), ["week_pack"]);
  assert.deepEqual(asked("socratic"), ["week_pack"]);
  assert.equal(asked("alex"), undefined);
  const perDay = { ...agentOf("ta"), scope: "intent_week_day" as const };
  assert.equal(agentRequestFor(perDay, { ...REQUEST, accept: ["week_pack"] }).accept, undefined);
});

Deno.test("protocol: a pack needs all seven days, each once, each a valid payload", () => {
  const pack = packOf("clo");
  const reply = (data: unknown) => ({ ok: true, data });
  const valid = parseAnswer("clo", reply(pack), true);
  assert.ok(valid.ok && valid.data.kind === "pack");

  const missing = { days: pack.days.slice(0, 6) };
  const duplicate = { days: [...pack.days.slice(0, 6), { ...pack.days[0] }] };
  const wrongPayload = {
    days: pack.days.map((entry) => (entry.day === 4 ? { ...entry, objectives: [] } : entry)),
  };
  const outOfRange = {
    days: pack.days.map((entry) => (entry.day === 7 ? { ...entry, day: 8 } : entry)),
  };
  for (const [label, data] of Object.entries({ missing, duplicate, wrongPayload, outOfRange })) {
    assert.equal(parseAnswer("clo", reply(data), true).ok, false, label);
  }
  // A pack-shaped body is never read as a single day, and a pack is refused when not asked for.
  assert.equal(parseAnswer("clo", reply({ ...pack.days[0], days: "x" }), true).ok, false);
  assert.equal(parseAnswer("clo", reply(pack), false).ok, false);
  const single = parseAnswer("clo", reply(REFERENCE_CONTENT.clo(REQUEST)), true);
  assert.ok(single.ok && single.data.kind === "single", "an original-protocol answer");
});

// ---------------------------------------------------------------------------------------------
// Reference agents

Deno.test("reference: a pack holds each day's own focus, objectives, exercises, questions", () => {
  const clo = packOf("clo");
  assert.deepEqual(clo.days.map((entry) => entry.day), [1, 2, 3, 4, 5, 6, 7]);
  for (const entry of clo.days) {
    const { day: _day, ...payload } = entry;
    assert.ok(CloDataSchema.safeParse(payload).success);
    // The day's own entry is exactly what a single-day answer for that day would be.
    assert.deepEqual(payload, REFERENCE_CONTENT.clo(onDay(entry.day)));
    assert.match(payload.description, new RegExp(`Week 3, day ${entry.day} of`));
  }
  assert.match(clo.days[0].title, /orientation and key terms/);
  assert.match(clo.days[1].title, /how it works/, "day 2 has day 2's focus");
  const distinct = (values: unknown[]) => new Set(values.map((v) => JSON.stringify(v))).size;
  assert.equal(distinct(clo.days.map((entry) => entry.title)), 7);
  assert.equal(distinct(clo.days.map((entry) => entry.objectives)), 7);
  assert.equal(distinct(packOf("ta").days.map((entry) => entry.exercises)), 7);
  assert.equal(distinct(packOf("socratic").days.map((entry) => entry.questions)), 7);
  // Asked on any day of the week, the pack is the same.
  assert.deepEqual(packOf("clo", onDay(5)), clo);
  assert.notDeepEqual(packOf("clo", { ...REQUEST, week: 4 }), clo);
});

Deno.test("reference server: a pack when accepted, a day otherwise; ETag of what is sent", async () => {
  const post = async (name: AgentName, body: unknown, headers: Record<string, string> = {}) => {
    const agent = createReferenceAgent(name, { config: await config() });
    return await agent.fetch(
      new Request(urlOf(name), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${(await config()).edgeServiceKey}`,
          ...headers,
        },
        body: JSON.stringify(body),
      }),
    );
  };
  const packRequest = agentRequestFor(agentOf("clo"), onDay(2));
  const packed = await post("clo", packRequest);
  const body = await packed.json();
  assert.deepEqual(body, { ok: true, data: packOf("clo") });
  const etag = packed.headers.get("ETag")!;
  assert.equal(etag, await contentEtag(body.data), "the ETag is the hash of the pack");

  const again = await post("clo", agentRequestFor(agentOf("clo"), onDay(6)), {
    "If-None-Match": etag,
  });
  assert.equal(again.status, 304, "the same pack asked on another day of the week");
  await again.body?.cancel();

  const single = await post("clo", onDay(2));
  assert.deepEqual((await single.json()).data, REFERENCE_CONTENT.clo(onDay(2)));
  const original = await post("clo", packRequest, { "X-Wisely-Fault": '{"single_day": true}' });
  assert.deepEqual((await original.json()).data, REFERENCE_CONTENT.clo(onDay(2)));
  const alex = await post("alex", { ...onDay(2), accept: ["week_pack"] });
  assert.deepEqual((await alex.json()).data, REFERENCE_CONTENT.alex(onDay(2)), "intent-wide");
  assert.deepEqual(referenceAnswer("alex", packRequest), REFERENCE_CONTENT.alex(packRequest));
});

// ---------------------------------------------------------------------------------------------
// The agent client with the cache

Deno.test("fanOut: a pack serves each of its seven days from its own entry", async () => {
  const w = await world();
  const first = await w.run(onDay(1));
  for (const name of ["clo", "ta", "socratic"] as const) {
    assert.equal(first.signals[name]?.source, "network");
    assert.deepEqual(w.cache.keys(name), [WEEK_KEY], `${name}: one row for the week`);
  }
  assert.deepEqual(first.cacheWrites.find((write) => write.agent === "clo")?.scopeKey, WEEK_KEY);

  const titles = new Set<string>();
  for (let day = 1; day <= 7; day++) {
    if (day > 1) w.advance(DAY_MS);
    const result = day === 1 ? first : await w.run(onDay(day));
    for (const name of AGENT_NAMES) {
      if (day > 1) assert.equal(result.signals[name]?.source, "cache", `${name} day ${day}`);
      assert.deepEqual(result.signals[name]?.data, REFERENCE_CONTENT[name](onDay(day)));
    }
    const { day: _day, ...entry } = packOf("clo").days[day - 1];
    assert.deepEqual(result.signals.clo?.data, entry, `day ${day} is served its own entry`);
    titles.add(entry.title);
    if (day > 1) assert.deepEqual(result.cacheWrites, []);
  }
  assert.equal(titles.size, 7, "seven days, seven focuses");
  for (const name of AGENT_NAMES) assert.equal(w.calls(name), 1, `${name} asked once`);

  // The next week is not covered by this week's pack.
  w.advance(DAY_MS);
  const nextWeek = await w.run({ ...onDay(1), week: 4 });
  for (const name of ["clo", "ta", "socratic"] as const) {
    assert.equal(nextWeek.signals[name]?.source, "network", name);
    assert.equal(w.calls(name), 2);
  }
  // alex covers the intent; seven days on its window has ended, so it is revalidated (304).
  assert.equal(nextWeek.signals.alex?.source, "revalidated");
});

Deno.test("fanOut: an original-protocol agent is cached for its day only", async () => {
  const w = await world({ socratic: await originalProtocol("socratic") });
  const first = await w.run(onDay(1));
  assert.equal(first.signals.socratic?.source, "network");
  assert.deepEqual(first.signals.socratic?.data, REFERENCE_CONTENT.socratic(onDay(1)));
  assert.deepEqual(first.cacheWrites.find((write) => write.agent === "socratic"), {
    kind: "store",
    agent: "socratic",
    scopeKey: dayKey(1),
    etag: await contentEtag(REFERENCE_CONTENT.socratic(onDay(1))),
    payload: REFERENCE_CONTENT.socratic(onDay(1)),
  });

  for (let day = 2; day <= 7; day++) {
    w.advance(DAY_MS);
    const result = await w.run(onDay(day));
    const call = w.fake.callsTo(urlOf("socratic")).at(-1)!;
    assert.equal(call.headers.get("If-None-Match"), null, `day ${day}: no other day's ETag`);
    assert.equal(result.signals.socratic?.source, "network", `day ${day}: asked again`);
    assert.deepEqual(result.signals.socratic?.data, REFERENCE_CONTENT.socratic(onDay(day)));
    assert.equal(result.signals.clo?.source, "cache", "the pack agents are unaffected");
  }
  assert.equal(w.calls("socratic"), 7);
  assert.equal(w.calls("clo"), 1);
  assert.deepEqual(w.cache.keys("socratic"), [1, 2, 3, 4, 5, 6, 7].map(dayKey));

  // Its own day again (e.g. the provisional path, or a second device): served from its row.
  const again = await w.run(onDay(3));
  assert.equal(again.signals.socratic?.source, "cache");
  assert.deepEqual(again.signals.socratic?.data, REFERENCE_CONTENT.socratic(onDay(3)));
});

Deno.test("fanOut: a day answer never serves another day", async () => {
  const dayOne = REFERENCE_CONTENT.clo(onDay(1));
  const at = (day: number) => ({ intentId: INTENT_ID, week: 3, day });
  const row = (scope_key: string, payload: unknown): CacheRow => ({
    agent: "clo",
    scope_key,
    etag: '"x"',
    payload,
    fetched_at: new Date(),
    validated_at: new Date(),
  });
  // Day 1's single answer under its day key, and one under the week key as the old per-week
  // cache held it (what 20260101000800 deletes).
  const dayRow = row(dayKey(1), dayOne);
  const oldWeekRow = row(WEEK_KEY, dayOne);
  for (let day = 2; day <= 7; day++) {
    assert.equal(pickCacheEntries(AGENTS, [dayRow, oldWeekRow], at(day)).size, 0, `day ${day}`);
  }
  assert.equal(pickCacheEntries(AGENTS, [oldWeekRow], at(1)).size, 0, "not even for its day");
  assert.equal(pickCacheEntries(AGENTS, [dayRow], at(1)).get("clo")?.scopeKey, dayKey(1));

  // Handed to the client directly, another day's entry is ignored too.
  const w = await world();
  const entry = {
    agent: "clo" as const,
    scopeKey: dayKey(1),
    etag: '"x"',
    payload: dayOne,
    fetchedAt: new Date(),
    validatedAt: new Date(),
  };
  assert.equal(usableEntry("clo", agentOf("clo"), entry, at(2)), null);
  const result = await fanOut({
    request: onDay(2),
    agents: AGENTS.filter((agent) => agent.name === "clo"),
    cache: new Map([["clo", entry]]),
    forceRefresh: false,
    deadlineMs: 12_000,
    serviceKey: (await config()).edgeServiceKey,
    traceId: TRACE_ID,
    fetch: w.fake.fetch,
  });
  assert.equal(result.signals.clo?.source, "network");
  assert.equal(w.fake.calls[0].headers.get("If-None-Match"), null);
  assert.deepEqual(result.signals.clo?.data, REFERENCE_CONTENT.clo(onDay(2)));
});

Deno.test("fanOut: the newest entry covering the day wins, pack or single day", async () => {
  const w = await world({ clo: await originalProtocol("clo") });
  // Week pack first (a pack agent), then the agent is replaced by an original-protocol one.
  w.cache.apply([{
    kind: "store",
    agent: "clo",
    scopeKey: WEEK_KEY,
    etag: await contentEtag(packOf("clo")),
    payload: packOf("clo"),
  }], Date.parse("2026-02-20T07:00:00Z"));
  const refreshed = await w.run(onDay(2), true);
  assert.equal(refreshed.signals.clo?.source, "network");
  assert.deepEqual(w.cache.keys("clo"), [WEEK_KEY, dayKey(2)].sort());
  // Day 2 is now served from its newer single answer, every other day still from the pack.
  const picked = (day: number) =>
    pickCacheEntries(AGENTS, w.cache.rows, { intentId: INTENT_ID, week: 3, day }).get("clo");
  assert.equal(picked(2)?.scopeKey, dayKey(2));
  for (const day of [1, 3, 4, 5, 6, 7]) assert.equal(picked(day)?.scopeKey, WEEK_KEY);
});

Deno.test("fanOut: an invalid pack is a failed call, never cached", async () => {
  const pack = packOf("ta");
  const invalid: Record<string, WeekPack<"ta">> = {
    "a missing day": { days: pack.days.filter((entry) => entry.day !== 3) },
    "a duplicate day": { days: [...pack.days.slice(1), { ...pack.days[1] }] },
    "a wrong payload": {
      days: pack.days.map((entry) => (entry.day === 5 ? { ...entry, exercises: [] } : entry)),
    },
  };
  for (const [label, data] of Object.entries(invalid)) {
    const w = await world({ ta: scripted(200, { ok: true, data }, { ETag: '"bad"' }) });
    const result = await w.run(onDay(1));
    const ta = result.signals.ta!;
    assert.deepEqual(
      [ta.source, ta.available, ta.error_code, ta.status],
      ["fallback", false, "invalid_payload", 200],
      label,
    );
    assert.ok(!result.cacheWrites.some((write) => write.agent === "ta"), `${label}: not cached`);
    assert.equal(result.signals.clo?.source, "network", "the other agents are unaffected");

    // With the week's valid pack cached (stale), the failure serves it stale, unchanged.
    w.cache.apply([{
      kind: "store",
      agent: "ta",
      scopeKey: WEEK_KEY,
      etag: await contentEtag(pack),
      payload: pack,
    }], Date.parse("2026-02-20T07:00:00Z"));
    const stale = await w.run(onDay(4));
    assert.equal(stale.signals.ta?.source, "stale", label);
    assert.deepEqual(stale.signals.ta?.data, REFERENCE_CONTENT.ta(onDay(4)));
    assert.ok(!stale.cacheWrites.some((write) => write.agent === "ta"));
  }
});

Deno.test("fanOut: a 304 for a pack renews all its days", async () => {
  const w = await world();
  await w.run(onDay(1));
  // Eight days later (past the 7-day window, within the stale one), day 2 of the same week.
  w.advance(8 * DAY_MS);
  const revalidated = await w.run(onDay(2));
  const clo = w.fake.callsTo(urlOf("clo")).at(-1)!;
  assert.equal(clo.headers.get("If-None-Match"), await contentEtag(packOf("clo")));
  for (const name of AGENT_NAMES) {
    assert.equal(revalidated.signals[name]?.source, "revalidated", name);
    assert.equal(revalidated.signals[name]?.status, 304);
    assert.deepEqual(revalidated.signals[name]?.data, REFERENCE_CONTENT[name](onDay(2)));
  }
  assert.deepEqual(
    revalidated.cacheWrites.map((write) => [write.kind, write.agent, write.scopeKey]),
    AGENT_NAMES.map((name) => [
      "revalidate",
      name,
      name === "alex" ? `intent:${INTENT_ID}` : WEEK_KEY,
    ]),
  );
  // The one renewed row serves the rest of the week without a call.
  for (let day = 3; day <= 7; day++) {
    w.advance(DAY_MS);
    const result = await w.run(onDay(day));
    for (const name of AGENT_NAMES) {
      assert.equal(result.signals[name]?.source, "cache", `${name} day ${day}`);
    }
    assert.deepEqual(result.signals.ta?.data, REFERENCE_CONTENT.ta(onDay(day)));
  }
  for (const name of AGENT_NAMES) assert.equal(w.calls(name), 2, name);
});
