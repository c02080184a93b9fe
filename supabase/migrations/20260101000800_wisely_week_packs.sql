-- Answers served only for the days they cover (spec 6.1, issue 9 item 1).
--
-- clo was cached under intent + week for 24 h while its answer was made for one day, so every
-- day of a week got the first day's focus. Now a week-scoped agent (scope 'intent_week') is
-- asked for a week pack (`accept: ["week_pack"]`, _shared/agents/protocol.ts): a pack is
-- stored under 'intent:<id>:w<week>' and each day is served from its own entry; a single-day
-- answer (an agent of the original protocol) is stored under 'intent:<id>:w<week>:d<day>' and
-- serves that day only; an intent-wide answer stays under 'intent:<id>'. The key format is
-- unchanged, so wisely.scope_key_intent and wisely.store_agent_cache (20260101000600) need no
-- change: what is new is what a week key holds.
--
-- Forward-only and re-runnable: each statement only moves what is still in the old state.

-- 1. The registry of spec 6.1: clo, ta and socratic answer a week (pack), alex the intent
--    (seeded so already); all four fresh for 7 days. Only rows still at the previous seed
--    values move, so an operator's own tuning (another window or scope) is left alone.
update wisely.agents
set scope = 'intent_week', freshness_s = 604800, updated_at = now()
where (name = 'clo' and scope = 'intent_week' and freshness_s = 86400)
  or (name in ('ta', 'socratic') and scope = 'intent_week_day' and freshness_s = 21600);

-- 2. Cache rows. Before this migration no agent answered packs, so a row under a week key
--    ('intent:<id>:w<week>') holds one day's answer that was served for the whole week: it
--    could serve another day, so it goes (the next run asks for the week's pack). A row that
--    already holds a pack (`{days: [...]}`, written after this migration) stays. Rows under a
--    day key hold that day's answer and stay, served for their day only; intent rows stay.
delete from wisely.agent_cache
where scope_key ~ '^intent:[0-9a-f-]{36}:w[0-9]+$'
  and jsonb_typeof(payload -> 'days') is distinct from 'array';
