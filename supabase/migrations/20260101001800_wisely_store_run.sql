-- The last step of a day run (supabase/functions/orchestrator/run_day/store.ts) as a PL/pgSQL
-- function (issue 11). It was one statement of six CTEs, parsed and planned on every run (no
-- prepared statements behind the transaction pooler), whose writers had to be volatile
-- functions joined into the final select to run once each and to see the session row. Here the
-- steps run in order, each seeing the ones before, and their plans are kept for the session.
--
-- Stores the session of (p_intent_id, p_week, p_day), or its next revision when it exists
-- (force_refresh: composed again, current, opened if it was or is now shown), its revision row,
-- and through the security definer writers of migration 20260101000600 (users cannot write
-- bookkeeping tables themselves) the fan-out's cache writes and call log and the
-- `instructor_plan_created` event; then releases the run's claim. Returns the stored session.
create or replace function wisely.store_run(
  p_session_id uuid,
  p_user uuid,
  p_intent_id uuid,
  p_week integer,
  p_day integer,
  p_plan_md text,
  p_plan_summary jsonb,
  p_plan jsonb,
  p_total_minutes integer,
  p_degraded_mode boolean,
  p_cache_hits integer,
  p_cache_misses integer,
  p_signal_quality jsonb,
  p_opens boolean,
  p_planned_on date,
  p_stores jsonb,
  p_revalidations jsonb,
  p_calls jsonb,
  p_trace_id text,
  p_claim_id uuid
) returns setof wisely.sessions
language plpgsql volatile
security invoker
set search_path = ''
as $$
declare
  v_session wisely.sessions;
begin
  insert into wisely.sessions as s (id, user_id, intent_id, week, day, revision, plan_md,
    plan_summary, plan, total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality,
    opened_at, planned_on)
  values (p_session_id, p_user, p_intent_id, p_week, p_day, 1, p_plan_md, p_plan_summary,
    p_plan, p_total_minutes, p_degraded_mode, p_cache_hits,
    p_cache_misses, p_signal_quality, case when p_opens then pg_catalog.now() end, p_planned_on)
  on conflict (intent_id, week, day) do update set
    revision = s.revision + 1, plan_md = excluded.plan_md,
    plan_summary = excluded.plan_summary, plan = excluded.plan,
    total_minutes = excluded.total_minutes, degraded_mode = excluded.degraded_mode,
    cache_hits = excluded.cache_hits, cache_misses = excluded.cache_misses,
    signal_quality = excluded.signal_quality, updated_at = pg_catalog.now(),
    opened_at = coalesce(s.opened_at, excluded.opened_at),
    planned_on = excluded.planned_on, inputs_changed_at = null
  returning * into v_session;

  insert into wisely.plan_revisions (session_id, user_id, revision, plan_md, plan_summary,
    plan, degraded_mode, cache_hits, cache_misses, signal_quality)
  values (v_session.id, v_session.user_id, v_session.revision, v_session.plan_md,
    v_session.plan_summary, v_session.plan, v_session.degraded_mode, v_session.cache_hits,
    v_session.cache_misses, v_session.signal_quality);

  perform wisely.store_agent_cache(p_stores, p_revalidations);
  perform wisely.record_agent_calls(v_session.id, p_calls, p_trace_id);
  -- The payload of EventPayloads["instructor_plan_created"] (_shared/events.ts).
  perform wisely.record_event('instructor_plan_created', jsonb_build_object(
    'session_id', v_session.id, 'intent_id', v_session.intent_id, 'week', v_session.week,
    'day', v_session.day, 'revision', v_session.revision,
    'degraded_mode', v_session.degraded_mode, 'cache_hits', v_session.cache_hits,
    'cache_misses', v_session.cache_misses));
  perform wisely.release_run(p_intent_id, p_week, p_day, p_claim_id);
  return next v_session;
end;
$$;

revoke all on function wisely.store_run(uuid, uuid, uuid, integer, integer, text, jsonb, jsonb,
  integer, boolean, integer, integer, jsonb, boolean, date, jsonb, jsonb, jsonb, text, uuid)
  from public, anon;
grant execute on function wisely.store_run(uuid, uuid, uuid, integer, integer, text, jsonb,
  jsonb, integer, boolean, integer, integer, jsonb, boolean, date, jsonb, jsonb, jsonb, text,
  uuid) to authenticated, service_role;
