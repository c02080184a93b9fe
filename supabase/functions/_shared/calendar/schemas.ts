/**
 * The calendar routes' answers (spec 12), for the route, the OpenAPI document and the SDK's
 * types. `POST calendar.link` takes no body (or `{}`).
 */
import { z } from "zod";

/** The only body `POST calendar.link` takes: none (read as `{}`), or `{}`. */
export const CalendarLinkBody = z.strictObject({});

/** `POST calendar.link`'s answer. */
export const CalendarLinkResponse = z.object({
  url: z.url().describe(
    "The secret feed URL (`…/calendar.ics?key=…`); subscribe to it, or to its webcal:// form. " +
      "Shown once: only its hash is stored.",
  ),
});

/** `DELETE calendar.link`'s answer. */
export const CalendarRevokeResponse = z.object({
  revoked: z.boolean().describe("False when there was no link to revoke."),
});
