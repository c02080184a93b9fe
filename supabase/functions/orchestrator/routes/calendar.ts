/**
 * The calendar feed (spec 12):
 * - `POST calendar.link` (user): a new secret feed URL, `{url}`. One link per learner: posting
 *   again rotates it, and the old URL is a 404 from then on. Idempotency-Key is ignored here:
 *   a stored replay would keep the secret URL in `idempotency_keys` for 24 h, where only its
 *   hash may live; a retried POST simply rotates again and answers the URL that now works.
 * - `DELETE calendar.link` (user): revokes it, `{revoked}` (false when there was none).
 * - `GET calendar.ics?key=…` (no Authorization header, as calendar apps fetch; HEAD too): the
 *   learner's next 14 sessions as RFC 5545 (_shared/calendar/ics.ts). An unknown, revoked or
 *   malformed key is the same 404, looked up by the key's SHA-256, never compared as text.
 */
import type { Config } from "../../_shared/config.ts";
import type { Sql } from "../../_shared/db.ts";
import { notFound } from "../../_shared/errors.ts";
import type { Route } from "../../_shared/http/app.ts";
import { ifNoneMatchMatches, textEtag } from "../../_shared/http/etag.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { calendarFeed } from "../../_shared/calendar/ics.ts";
import { hashKey, isKeyShaped, newKey } from "../../_shared/calendar/keys.ts";
import { upcomingDays } from "../../_shared/calendar/schedule.ts";
import {
  CalendarLinkBody,
  CalendarLinkResponse,
  CalendarRevokeResponse,
} from "../../_shared/calendar/schemas.ts";
import { readFeed, revokeLink, saveLink } from "../../_shared/calendar/store.ts";

export const FEED_ROUTE = "calendar.ics";

/** Calendar apps poll; a few minutes of private caching spares the database. */
const CACHE_CONTROL = "private, max-age=300";

export interface CalendarRouteOptions {
  /**
   * The functions' base URL as clients reach it, e.g. `https://<ref>.supabase.co/functions/v1`
   * (see calendarRoutes' caller: the config's SUPABASE_URL + `/functions/v1`).
   */
  functionsUrl: string;
  /** The function's name in the URL. @default "orchestrator" */
  functionName?: string;
}

/**
 * The functions' base URL as clients see it: `${SUPABASE_URL}/functions/v1` (the project's
 * URL on a hosted project, the stack's locally), else EDGE_BASE_URL's.
 */
export function publicFunctionsUrl(config: Pick<Config, "supabaseUrl" | "edgeBaseUrl">): string {
  return `${(config.supabaseUrl ?? config.edgeBaseUrl).replace(/\/+$/, "")}/functions/v1`;
}

/** The feed URL of `key`. */
export function feedUrl(options: CalendarRouteOptions, key: string): string {
  const base = options.functionsUrl.replace(/\/+$/, "");
  return `${base}/${options.functionName ?? "orchestrator"}/${FEED_ROUTE}?key=${key}`;
}

const noSuchFeed = () => notFound("No calendar feed at this address.");

/** The feed's body for the key in `url`; throws the 404 for any key that is not a link's. */
async function feedBody(sql: Sql, url: URL): Promise<string> {
  const key = url.searchParams.get("key");
  if (!isKeyShaped(key)) throw noSuchFeed();
  const feed = await readFeed(sql, await hashKey(key));
  if (feed === null) throw noSuchFeed();
  const days = feed.intent && feed.today
    ? upcomingDays({ today: feed.today, latest: feed.latest, pausedUntil: feed.pausedUntil })
    : [];
  return calendarFeed({
    intent: feed.intent,
    days,
    stamp: feed.changedAt ?? new Date(0),
  });
}

function feedRoute(sql: Sql): Route {
  return {
    method: "GET",
    path: FEED_ROUTE,
    auth: "none",
    async handle({ req, url }) {
      const body = await feedBody(sql, url);
      const etag = textEtag(body);
      const headers = new Headers({ "Cache-Control": CACHE_CONTROL, ETag: etag });
      if (ifNoneMatchMatches(req.headers.get("if-none-match"), etag)) {
        return new Response(null, { status: 304, headers });
      }
      headers.set("Content-Type", "text/calendar; charset=utf-8");
      headers.set("Content-Disposition", 'inline; filename="wisely.ics"');
      return new Response(body, { headers });
    },
  };
}

/** `POST` and `DELETE calendar.link`, and `GET calendar.ics`. */
export function calendarRoutes(sql: Sql, options: CalendarRouteOptions): Route[] {
  return [
    {
      method: "POST",
      path: "calendar.link",
      auth: "user",
      idempotent: false,
      async handle({ req, principal, db }) {
        await readJson(req, CalendarLinkBody);
        const { key, hash } = await newKey();
        await db.transaction((tx) => saveLink(tx, principal.userId, hash));
        return json(CalendarLinkResponse.parse({ url: feedUrl(options, key) }), 201, {
          "Cache-Control": "no-store",
        });
      },
    },
    {
      method: "DELETE",
      path: "calendar.link",
      auth: "user",
      async handle({ principal, db }) {
        const revoked = await db.transaction((tx) => revokeLink(tx, principal.userId));
        return json(CalendarRevokeResponse.parse({ revoked }));
      },
    },
    feedRoute(sql),
  ];
}
