-- Two reads of a day run's claim (supabase/functions/orchestrator/run_day/claim.ts) as
-- PL/pgSQL functions (issue 11), as 20260101001500 did for the learner model. Sent as
-- statements they were parsed and planned on every run: unnamed statements (the transaction
-- pooler has no prepared ones) are never cached, and planning them took about 0.9 ms of each
-- day.run's server time against 0.2 ms of execution. A PL/pgSQL function keeps its
-- statement's plan for the session; the statement that calls one is planned in microseconds.
-- wisely.claim_day (20260101001700) calls both.
-- All are security invoker: row-level security decides what they read, as it did before.

-- The session of (p_week, p_day) of the user's active intent, and whether it is `stale`: nobody
-- opened it yet and its inputs changed since it was composed (a completion marked it, or it
-- was planned for an earlier local date than today in the intent's zone). Callers expand the
-- row: `select (d.session).*, d.stale from wisely.day_session(...) d`.
create or replace function wisely.day_session(p_user uuid, p_week integer, p_day integer)
returns table (session wisely.sessions, stale boolean)
language plpgsql stable
security invoker
set search_path = ''
as $$
begin
  return query
  select s, (s.opened_at is null and (s.inputs_changed_at is not null
      or s.planned_on < (pg_catalog.now() at time zone i.user_tz)::date))
  from wisely.sessions s
  join wisely.intents i on i.id = s.intent_id
  where i.user_id = p_user and i.active and s.week = p_week and s.day = p_day;
end;
$$;

-- The intent's completions so far, and the last one before (p_week, p_day): one row, with
-- nulls for the last one when there is none.
create or replace function wisely.day_history(p_intent_id uuid, p_week integer, p_day integer)
returns table (
  completed_sessions integer,
  last_confidence integer,
  last_completion_time_min integer,
  last_hint text,
  last_week integer,
  last_day integer,
  last_planned_minutes integer
)
language plpgsql stable
security invoker
set search_path = ''
as $$
begin
  return query
  select
    (select count(*)::int from wisely.completions c
      join wisely.sessions s on s.id = c.session_id
      where s.intent_id = p_intent_id),
    last.confidence, last.completion_time_min, last.next_day_hint, last.week, last.day,
    last.total_minutes
  from (select 1) one
  left join lateral (
    select c.confidence, c.completion_time_min, c.next_day_hint, s.week, s.day, s.total_minutes
    from wisely.completions c join wisely.sessions s on s.id = c.session_id
    where s.intent_id = p_intent_id and (s.week, s.day) < (p_week, p_day)
    order by s.week desc, s.day desc
    limit 1
  ) last on true;
end;
$$;

revoke all on function wisely.day_session(uuid, integer, integer) from public, anon;
revoke all on function wisely.day_history(uuid, integer, integer) from public, anon;
grant execute on function wisely.day_session(uuid, integer, integer)
  to authenticated, service_role;
grant execute on function wisely.day_history(uuid, integer, integer)
  to authenticated, service_role;
