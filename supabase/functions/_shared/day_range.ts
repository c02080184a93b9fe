/**
 * The range of a position in the programme as untrusted JSON carries it: week 1..520, day 1..7
 * (spec 5.4; the bounds are plan/days.ts's). The one zod form of that range, for request bodies
 * (schemas.ts), responses (responses.ts), the agent protocol and its week packs
 * (agents/protocol.ts), the learner model (memory/learner_model.ts) and event payloads
 * (event_schemas.ts, whose `week` and `day` kinds `wisely.event_payload_spec` repeats in SQL).
 *
 * @module
 */
import { z } from "zod";
import { DAYS_PER_WEEK, MAX_WEEK } from "./plan/days.ts";

/** A week of the programme: an integer in 1..{@linkcode MAX_WEEK}. */
export const WeekSchema = z.int().min(1).max(MAX_WEEK);

/** A day of a programme week: an integer in 1..{@linkcode DAYS_PER_WEEK}. */
export const DaySchema = z.int().min(1).max(DAYS_PER_WEEK);
