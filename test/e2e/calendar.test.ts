/**
 * The calendar feed over HTTP (spec 12): `POST calendar.link` gives a secret URL that a
 * calendar app fetches with no Authorization header; the feed, parsed by ical.js, lists the
 * learner's next 14 days at plan_time in their zone (the UTC offset of each start is the
 * zone's at that instant, as Intl says, whatever today is), each lasting time_per_day_min, with
 * the stored day's title; rotating or revoking the link makes the old URL a 404, the same 404
 * as a garbage key; another learner's data never shows.
 */
import assert from "node:assert/strict";
import { LearningOrchestrator } from "../../sdk/mod.mjs";
import { addDaysTo, intlOffsetS, parseFeed, todayIn } from "../support/ical_feed.ts";
import { startTestStack, testBackends } from "../support/stack.ts";
import { closeClient, frontendClient } from "../support/supabase_clients.ts";

for (const backend of testBackends()) {
  Deno.test(`[${backend}] calendar feed: link, feed, rotate, revoke, isolation`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      const base = `${stack.functionsUrl}/orchestrator`;
      const ada = await stack.userToken(await stack.createUser());
      const bob = await stack.userToken(await stack.createUser());
      const call = (token: string, route: string, init: RequestInit = {}) =>
        fetch(`${base}/${route}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, ...init.headers },
        });
      const post = async (token: string, route: string, body?: unknown) => {
        const response = await call(token, route, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        assert.ok(response.status < 300, `${route} ${response.status}`);
        return await response.json();
      };
      const link = async (token: string): Promise<string> => {
        const response = await call(token, "calendar.link", { method: "POST" });
        assert.equal(response.status, 201);
        const body = await response.json();
        assert.deepEqual(Object.keys(body), ["url"]);
        return body.url;
      };
      /** A feed fetch as a calendar app makes it: no Authorization, no apikey. */
      const feed = (url: string, init: RequestInit = {}) => fetch(url, init);

      const adaTopic = "Rust ownership";
      const bobTopic = "Secret sourdough baking";
      await post(ada, "intent.sync", {
        topic: adaTopic,
        depth: "deep",
        end_goal: "Ship a crate",
        time_per_day_min: 40,
        user_tz: "Europe/Berlin",
        meta: { plan_time: "07:30" },
      });
      await post(ada, "day.run", { week: 1, day: 1 });
      // Week 1 day 2 is made on this Berlin date (or, at a midnight, the next one).
      const madeOn = todayIn("Europe/Berlin");
      const day2 = await post(ada, "day.run", { week: 1, day: 2 });
      await post(bob, "intent.sync", {
        topic: bobTopic,
        depth: "surface",
        end_goal: "Bake bread",
        time_per_day_min: 15,
        user_tz: "America/New_York",
        meta: { plan_time: "18:05" },
      });

      let adaUrl = "";
      await t.step(
        "POST calendar.link: a secret URL under the functions' public base",
        async () => {
          adaUrl = await link(ada);
          const url = new URL(adaUrl);
          assert.equal(`${url.origin}${url.pathname}`, `${base}/calendar.ics`);
          assert.match(url.searchParams.get("key") ?? "", /^[A-Za-z0-9_-]{43}$/);
          assert.deepEqual([...url.searchParams.keys()], ["key"]);
        },
      );

      await t.step("the feed: 14 days at 07:30 Berlin time, 40 minutes, titles", async () => {
        const before = todayIn("Europe/Berlin");
        const response = await feed(adaUrl);
        const after = todayIn("Europe/Berlin");
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("content-type"), "text/calendar; charset=utf-8");
        assert.match(response.headers.get("cache-control") ?? "", /^private, max-age=\d+$/);
        assert.match(response.headers.get("etag") ?? "", /^"[A-Za-z0-9_-]+"$/);
        const text = await response.text();
        assert.ok(!text.includes(bobTopic), "nothing of Bob's");
        assert.match(text, /BEGIN:VTIMEZONE\r\nTZID:Europe\/Berlin\r\n/);
        const events = parseFeed(text);
        assert.equal(events.length, 14);
        // Today in Berlin, as the server saw it (a midnight between the two reads is allowed).
        assert.ok([before, after].includes(events[0].local.slice(0, 10)), events[0].local);
        events.forEach((event, i) => {
          assert.equal(event.tzid, "Europe/Berlin");
          assert.equal(event.local.slice(11), "07:30:00", event.local);
          assert.equal(event.offsetS, intlOffsetS("Europe/Berlin", event.startUtc), event.local);
          assert.equal(event.durationS, 40 * 60);
          const date = new Date(`${events[0].local.slice(0, 10)}T00:00:00Z`);
          date.setUTCDate(date.getUTCDate() + i);
          assert.equal(event.local.slice(0, 10), date.toISOString().slice(0, 10));
        });
        // Week 1 day 2 was made today: it is today's event, with its stored title. Only if
        // Berlin's midnight fell between its making and this read is today week 1 day 3.
        const next = events[0].uid.includes("-w1-d2@") ? 1 : 0;
        if (next === 1) assert.equal(events[0].summary, day2.plan_json_summary.title);
        else assert.notEqual(madeOn, after, "week 1 day 2 is today's event");
        assert.match(events[next].uid, /-w1-d3@/);
        assert.equal(events[next].summary, `Wisely: ${adaTopic} — week 1 day 3`);
        assert.equal(new Set(events.map((e) => e.uid)).size, 14);
      });

      await t.step("ETag revalidation and HEAD", async () => {
        const first = await feed(adaUrl);
        const etag = first.headers.get("etag") ?? "";
        const again = await feed(adaUrl);
        assert.equal(again.headers.get("etag"), etag, "stable while nothing changed");
        assert.equal(await first.text(), await again.text());
        const revalidated = await feed(adaUrl, { headers: { "if-none-match": etag } });
        assert.equal(revalidated.status, 304);
        assert.equal(await revalidated.text(), "");
        const head = await feed(adaUrl, { method: "HEAD" });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get("content-type"), "text/calendar; charset=utf-8");
        assert.equal(await head.text(), "");
      });

      let bobUrl = "";
      await t.step("two learners, two links: each feed is its own learner's", async () => {
        bobUrl = await link(bob);
        assert.notEqual(bobUrl, adaUrl);
        const text = await (await feed(bobUrl)).text();
        assert.ok(!text.includes(adaTopic) && !text.includes("Europe/Berlin"), "nothing of Ada's");
        const events = parseFeed(text);
        assert.equal(events.length, 14);
        for (const event of events) {
          assert.equal(event.tzid, "America/New_York");
          assert.equal(event.local.slice(11), "18:05:00");
          assert.equal(event.offsetS, intlOffsetS("America/New_York", event.startUtc));
          assert.equal(event.durationS, 15 * 60);
        }
        assert.match(events[0].summary, /week 1 day 1$/, "no session yet: week 1 day 1 today");
        const adaEvents = parseFeed(await (await feed(adaUrl)).text());
        assert.ok(adaEvents.every((e) => !events.some((b) => b.uid === e.uid)));
      });

      const missing = await (await feed(`${base}/calendar.ics?key=${"A".repeat(43)}`)).json();
      await t.step("unknown, garbage and missing keys: one and the same 404", async () => {
        assert.deepEqual(missing, {
          error: "No calendar feed at this address.",
          code: "NOT_FOUND",
        });
        for (const query of ["?key=garbage", "?key=", "", `?key=${"A".repeat(43)}%00`]) {
          const response = await feed(`${base}/calendar.ics${query}`);
          assert.equal(response.status, 404, query);
          assert.deepEqual(await response.json(), missing, query);
        }
      });

      await t.step("POST again rotates: the old URL is a 404, the new one works", async () => {
        const rotated = await link(ada);
        assert.notEqual(rotated, adaUrl);
        const old = await feed(adaUrl);
        assert.equal(old.status, 404);
        assert.deepEqual(await old.json(), missing);
        assert.equal((await feed(rotated)).status, 200);
        assert.equal((await feed(bobUrl)).status, 200, "Bob's link is untouched");
        adaUrl = rotated;
      });

      await t.step("paused: the feed starts the day after paused_until", async () => {
        const zone = "America/New_York";
        const today = todayIn(zone);
        const until = addDaysTo(today, 3);
        const paused = await post(bob, "intent.pause", { until });
        assert.equal(paused.paused_until, until);
        const events = parseFeed(await (await feed(bobUrl)).text());
        assert.equal(events.length, 14);
        assert.equal(events[0].local.slice(0, 10), addDaysTo(until, 1));
        assert.match(events[0].uid, /-w1-d1@/, "the next day is still week 1 day 1");
        await post(bob, "intent.resume");
        const resumed = parseFeed(await (await feed(bobUrl)).text());
        assert.ok(resumed[0].local.slice(0, 10) <= addDaysTo(today, 1), "back from today on");
      });

      await t.step("Idempotency-Key is not replayed: the secret is never stored", async () => {
        const keyed = () =>
          call(ada, "calendar.link", { method: "POST", headers: { "idempotency-key": "cal-1" } });
        const first = await keyed();
        const second = await keyed();
        assert.equal(first.status, 201);
        assert.equal(second.status, 201);
        assert.equal(second.headers.get("idempotent-replayed"), null);
        const [a, b] = [(await first.json()).url, (await second.json()).url];
        assert.notEqual(a, b);
        assert.equal((await feed(a)).status, 404);
        assert.equal((await feed(b)).status, 200);
        adaUrl = b;
        const stored = await stack.sql`
          select count(*)::int as n from wisely.idempotency_keys where route = 'calendar.link'
        `;
        assert.equal(stored[0].n, 0, "no stored response holds a feed URL");
      });

      await t.step("DELETE calendar.link revokes: the URL is a 404", async () => {
        const revoke = await call(ada, "calendar.link", { method: "DELETE" });
        assert.equal(revoke.status, 200);
        assert.deepEqual(await revoke.json(), { revoked: true });
        const gone = await feed(adaUrl);
        assert.equal(gone.status, 404);
        assert.deepEqual(await gone.json(), missing);
        const again = await call(ada, "calendar.link", { method: "DELETE" });
        assert.deepEqual(await again.json(), { revoked: false });
        assert.equal((await feed(bobUrl)).status, 200, "Bob's link is untouched");
      });

      await t.step("the link routes need a user; bad bodies are 400", async () => {
        const anonymous = await fetch(`${base}/calendar.link`, { method: "POST" });
        assert.equal(anonymous.status, 401);
        assert.equal((await anonymous.json()).code, "UNAUTHORIZED");
        const del = await fetch(`${base}/calendar.link`, { method: "DELETE" });
        assert.equal(del.status, 401);
        await del.body?.cancel();
        const bad = await call(ada, "calendar.link", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ key: "mine" }),
        });
        assert.equal(bad.status, 400);
        assert.equal((await bad.json()).code, "INVALID_REQUEST");
        const put = await call(ada, "calendar.ics", { method: "POST" });
        assert.equal(put.status, 405);
        await put.body?.cancel();
      });

      await t.step("the SDK through supabase-js: calendarLink and revokeCalendarLink", async () => {
        const client = frontendClient(stack);
        try {
          const { error } = await client.auth.signInAnonymously();
          assert.equal(error, null);
          const sdk = new LearningOrchestrator(client);
          const { url } = await sdk.calendarLink();
          assert.ok(url.startsWith(`${base}/calendar.ics?key=`), url);
          const response = await feed(url);
          assert.equal(response.status, 200);
          assert.deepEqual(parseFeed(await response.text()), [], "no intent yet: no events");
          assert.deepEqual(await sdk.revokeCalendarLink(), { revoked: true });
          const gone = await feed(url);
          assert.equal(gone.status, 404);
          await gone.body?.cancel();
          assert.deepEqual(await sdk.revokeCalendarLink(), { revoked: false });
        } finally {
          await closeClient(client);
        }
      });

      await t.step("no active intent: a valid, empty calendar", async () => {
        const carol = await stack.userToken(await stack.createUser());
        const response = await feed(await link(carol));
        assert.equal(response.status, 200);
        const text = await response.text();
        assert.match(text, /^BEGIN:VCALENDAR\r\n[\s\S]*END:VCALENDAR\r?\n?$/);
        assert.deepEqual(parseFeed(text), []);
      });
    } finally {
      await stack.stop();
    }
  });
}
