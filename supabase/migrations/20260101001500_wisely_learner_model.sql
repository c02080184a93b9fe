-- The learner model of one day (spec 7; supabase/functions/_shared/memory/learner.ts) as a
-- function (issue 11). As one statement sent by the driver it was parsed and planned on every
-- call: unnamed statements (the transaction pooler has no prepared ones) are never cached, and
-- planning it took about 1.8 ms against 0.4 ms of execution, on both day.run and day.done. A
-- PL/pgSQL function keeps its statement's plan for the session, so a call costs the execution.
--
-- What it reads, as of now() in the intent's zone, for (p_week, p_day) of p_intent_id: the intent
-- (`i`), its completions (`done`, `before` the day, the `prev`ious one), the day's learning-day
-- count (`pos`), the sessions `skipped` before it, and the objectives' memory (`mem`). One jsonb
-- object, the columns learner.ts validates; null when the intent is not visible (RLS: another
-- user's intent reads as none). p_mastery_window and p_memory_rows come from the code
-- (THRESHOLDS.masteryWindowDays, MEMORY_ROWS), so their values stay defined in one place.
create or replace function wisely.learner_model(
  p_intent_id uuid,
  p_week integer,
  p_day integer,
  p_mastery_window integer,
  p_memory_rows integer
) returns jsonb
language plpgsql stable
security invoker
set search_path = ''
as $$
begin
  return (
    with i as (
      select id, user_tz, (now() at time zone user_tz)::date as today
      from wisely.intents where id = p_intent_id
    ),
    done as (
      select s.id, s.week, s.day, s.total_minutes, c.confidence, c.completion_time_min,
        (c.completed_at at time zone i.user_tz)::date as completed_on
      from i
      join wisely.sessions s on s.intent_id = i.id
      join wisely.completions c on c.session_id = s.id
    ),
    before as (select * from done where (week, day) < (p_week, p_day)),
    prev as (select id from before order by week desc, day desc limit 1),
    pos as (select (select count(*)::int from before) + 1 as learning_day),
    -- Skipped (spec 12, migration 20260101001100): up to the day itself (a plan of it made
    -- for an earlier day, about to be composed again), after every completion before it, and
    -- its local day passed (the state as read, right even before a tick marked it).
    skipped as (
      select count(*)::int as n
      from i
      join wisely.sessions s on s.intent_id = i.id
      where (s.week, s.day) <= (p_week, p_day)
        and not exists (select 1 from before b where (b.week, b.day) > (s.week, s.day))
        and wisely.session_state(s.state, s.planned_on, i.today) = 'skipped'
    ),
    mem as (
      select m.objective_key as key, m.objective, m.origin_week as week, m.origin_day as day,
        m.stability, m.difficulty, m.state, m.reps, m.lapses, m.scheduled_days, m.last_rating,
        m.last_learning_day, ((m.last_reviewed_at at time zone i.user_tz)::date)::text as last_on,
        greatest(0, i.today - (m.last_reviewed_at at time zone i.user_tz)::date,
          pos.learning_day - m.last_learning_day) as elapsed
      from i, pos
      join wisely.objective_memory m on true
      where m.intent_id = i.id
    )
    select jsonb_build_object(
      'today', i.today::text,
      'learning_day', pos.learning_day,
      'days_since', (select (i.today - max(completed_on))::int from done),
      'skipped', (select n from skipped),
      'mastery', (select avg(case when m.last_rating >= 3 then 1.0 else 0.0 end)::float8
        from wisely.objective_memory m
        where m.intent_id = i.id and m.last_learning_day < pos.learning_day
          and m.last_learning_day >= pos.learning_day - p_mastery_window),
      'recent', coalesce((
        select jsonb_agg(r order by r.week desc, r.day desc) from (
          select week, day, confidence, completion_time_min, total_minutes as planned_minutes,
            completed_on::text as completed_on
          from before order by week desc, day desc limit 7
        ) r
      ), '[]'::jsonb),
      'memory', coalesce((
        select jsonb_agg(to_jsonb(m) - 'elapsed' order by m.elapsed::float8 / m.stability desc,
          m.key)
        from (select * from mem order by elapsed::float8 / stability desc, key
          limit p_memory_rows) m
      ), '[]'::jsonb),
      'previous', coalesce((
        select jsonb_agg((to_jsonb(m) - 'elapsed') || jsonb_build_object('rating', r.rating)
          order by r.rating, m.key)
        from prev
        -- Its objectives (its review block's items come back by FSRS alone).
        join wisely.objective_reviews r on r.session_id = prev.id and not r.in_review
        join mem m on m.key = r.objective_key
      ), '[]'::jsonb),
      'weeks', coalesce((
        select jsonb_agg(w order by w.week desc) from (
          select r.week, count(*) filter (where r.rating >= 3)::int as secure,
            count(*)::int as reviews
          from wisely.objective_reviews r
          where r.intent_id = i.id and r.week < p_week
          group by r.week order by r.week desc limit 52
        ) w
      ), '[]'::jsonb)
    )
    from i, pos
  );
end;
$$;

revoke all on function wisely.learner_model(uuid, integer, integer, integer, integer)
  from public, anon;
grant execute on function wisely.learner_model(uuid, integer, integer, integer, integer)
  to authenticated, service_role;
