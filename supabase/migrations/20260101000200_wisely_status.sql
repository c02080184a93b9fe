-- Wisely Orchestrator: the status route's SQL (spec 5.6).
--
-- `wisely.user_status()` answers GET status in one call. It is SECURITY INVOKER: it runs as
-- the caller (role authenticated with the user's claims), so RLS still guards every row it
-- reads, and it filters by auth.uid() explicitly as well so a service-role caller (which
-- bypasses RLS) gets the same answer. Every lookup is an index probe; only the learning stats
-- aggregate over the user's own rows, through the (user_id, ...) indexes.
--
-- RLS shapes the SQL: under a policy, Postgres uses a condition as an index condition only if
-- it is leakproof, and a non-leakproof function (timezone(), substring(), ...) applied to a
-- column makes it not. So every probe compares bare columns with leakproof operators to values
-- computed beforehand (function parameters, PL/pgSQL variables, materialised CTE columns).

-- Timestamps in the status document are ISO 8601 in UTC with milliseconds, exactly what
-- JavaScript's Date#toISOString prints, whatever the session's TimeZone is.
create or replace function wisely.iso_utc(p_ts timestamptz) returns text
language sql stable parallel safe
set search_path = ''
as $$
  select pg_catalog.to_char(p_ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Freshness per agent is the newest validated_at among the active intent's cache rows, whose
-- scope keys are 'intent:<id>', 'intent:<id>:w<week>' and 'intent:<id>:w<week>:d<day>'. In
-- byte order ("C" collation) those keys form one contiguous range, which this index serves
-- with an index-only scan over that intent's rows alone (not the user's whole history).
create index if not exists agent_cache_scope_c on wisely.agent_cache
  (user_id, agent, scope_key collate "C") include (validated_at);

-- Consecutive local calendar days, each with at least one completion, ending today or
-- yesterday (local to p_tz, relative to p_now); 0 otherwise.
--
-- A local day is the half-open instant range [local midnight, next local midnight), both
-- built with `timestamp at time zone`, so days tile time exactly even on 23- and 25-hour DST
-- days. The walk goes back one day per step with one index range probe on
-- completions(user_id, completed_at): its cost is the streak's length, never the history's,
-- and it is capped at 3660 days (the longest possible program is 520 weeks).
create or replace function wisely.streak_days(p_user uuid, p_tz text, p_now timestamptz)
returns integer
language sql stable
set search_path = ''
as $$
  with recursive
    today as (
      select (p_now at time zone p_tz)::date as d
    ),
    -- Materialised so the probe below sees plain columns, not timezone() calls (see top).
    candidates as materialized (
      select
        candidate.d,
        candidate.d::timestamp at time zone p_tz as day_start,
        (candidate.d + 1)::timestamp at time zone p_tz as day_end
      from today
      cross join lateral (values (today.d), (today.d - 1)) as candidate (d)
    ),
    anchor as (
      select candidates.d
      from candidates
      where exists (
        select 1
        from wisely.completions c
        where c.user_id = p_user
          and c.completed_at >= candidates.day_start
          and c.completed_at < candidates.day_end
      )
      order by candidates.d desc
      limit 1
    ),
    -- d: the earliest day counted so far; [prev_start, prev_end): the day before it.
    walk (d, prev_start, prev_end, n) as (
      select
        anchor.d,
        (anchor.d - 1)::timestamp at time zone p_tz,
        anchor.d::timestamp at time zone p_tz,
        1
      from anchor
      union all
      select walk.d - 1, (walk.d - 2)::timestamp at time zone p_tz, walk.prev_start, walk.n + 1
      from walk
      where walk.n < 3660
        and exists (
          select 1
          from wisely.completions c
          where c.user_id = p_user
            and c.completed_at >= walk.prev_start
            and c.completed_at < walk.prev_end
        )
    )
  select coalesce(max(walk.n), 0)::integer from walk
$$;

-- When the next day's plan is due: p_plan_time local in p_tz, on the first local date that is
-- after p_after_local_date (the latest session's local creation date; null when there is no
-- session, and then today counts) and whose instant is not before p_now.
--
-- DST: the instant is `(local_date + plan_time) at time zone tz`, with Postgres's rules for
-- wall-clock times that do not exist or exist twice. A time inside the spring-forward gap is
-- read with the offset in force before the change (02:30 on 2026-03-08 in America/New_York is
-- 07:30Z, i.e. 03:30 EDT: the run slips by the gap's length); a time inside the fall-back
-- overlap is read as standard time, the later of the two instants (01:30 on 2026-11-01 in
-- New York is 06:30Z, 01:30 EST).
create or replace function wisely.next_run_at(
  p_tz text,
  p_plan_time time,
  p_after_local_date date,
  p_now timestamptz
) returns timestamptz
language sql stable
set search_path = ''
as $$
  with first_date as (
    select greatest(
      coalesce(p_after_local_date + 1, (p_now at time zone p_tz)::date),
      (p_now at time zone p_tz)::date
    ) as d
  )
  -- Today's slot may already have passed; tomorrow's cannot have. A third day only guards
  -- against a DST rule moving a slot across midnight.
  select min(slot.at)
  from first_date
  cross join lateral generate_series(0, 2) as k (n)
  cross join lateral (
    select ((first_date.d + k.n) + p_plan_time) at time zone p_tz as at
  ) as slot
  where slot.at >= p_now
$$;

-- GET status (spec 5.6) for the user in request.jwt.claims, as one jsonb document.
create or replace function wisely.user_status(p_now timestamptz default now())
returns jsonb
language plpgsql stable
security invoker
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
  v_intent wisely.intents%rowtype;
  v_session wisely.sessions%rowtype;
  v_completion wisely.completions%rowtype;
  v_tz text;
  v_stale_factor double precision;
  v_scope text;
  v_scope_child text;
  v_scope_end text;
  v_next_week integer;
  v_next_day integer;
  v_active_intent jsonb;
  v_latest_session jsonb;
  v_freshness jsonb;
  v_next_run jsonb;
  v_stats jsonb;
begin
  if v_user is null then
    raise exception 'wisely.user_status needs a user: request.jwt.claims has no sub'
      using errcode = '28000';
  end if;

  select i.* into v_intent
  from wisely.intents i
  where i.user_id = v_user and i.active;

  -- Streaks count in the learner's zone; without an intent there is none, so UTC.
  v_tz := coalesce(v_intent.user_tz, 'UTC');

  if v_intent.id is not null then
    v_active_intent := jsonb_build_object(
      'id', v_intent.id,
      'topic', v_intent.topic,
      'depth', v_intent.depth,
      'end_goal', v_intent.end_goal,
      'time_per_day_min', v_intent.time_per_day_min,
      'user_tz', v_intent.user_tz,
      'created_at', wisely.iso_utc(v_intent.created_at),
      'updated_at', wisely.iso_utc(v_intent.updated_at),
      -- The column is the source of truth for plan_time; meta carries it as "HH:MM".
      'meta', v_intent.meta || jsonb_build_object('plan_time', left(v_intent.plan_time::text, 5))
    );

    select s.* into v_session
    from wisely.sessions s
    where s.intent_id = v_intent.id and s.user_id = v_user
    order by s.created_at desc, s.id desc
    limit 1;
  end if;

  if v_session.id is not null then
    select c.* into v_completion
    from wisely.completions c
    where c.session_id = v_session.id and c.user_id = v_user;

    v_latest_session := jsonb_build_object(
      'id', v_session.id,
      'week', v_session.week,
      'day', v_session.day,
      'revision', v_session.revision,
      'topic', v_intent.topic,
      'plan_title', v_session.plan_summary ->> 'title',
      'degraded_mode', v_session.degraded_mode,
      'created_at', wisely.iso_utc(v_session.created_at),
      'completion', case when v_completion.session_id is null then null else jsonb_build_object(
        'completion_time_min', v_completion.completion_time_min,
        'confidence', v_completion.confidence,
        'notes', v_completion.notes,
        'completed_at', wisely.iso_utc(v_completion.completed_at)
      ) end
    );
  end if;

  -- A cached payload is usable (stale) up to this many freshness windows (spec 6.3).
  -- Nested CASE: the cast must only run on a JSON number (AND does not promise an order).
  select case
    when jsonb_typeof(st.value) = 'number' then
      case when (st.value)::double precision > 0 then (st.value)::double precision end
  end
  into v_stale_factor
  from wisely.settings st
  where st.key = 'agent.stale_factor';
  v_stale_factor := coalesce(v_stale_factor, 7);

  -- The active intent's cache rows: the key 'intent:<id>' itself, or keys starting
  -- 'intent:<id>:'. The range [v_scope, v_scope || ';') in byte order holds them (':' is
  -- followed by ';'), plus keys like 'intent:<id>0...' which starts_with() drops.
  v_scope := 'intent:' || v_intent.id::text;
  v_scope_child := v_scope || ':';
  v_scope_end := v_scope || ';';

  -- "Within a window" means age < window.
  select coalesce(
    jsonb_object_agg(
      a.name,
      jsonb_build_object(
        'available', coalesce(
          p_now - cache.validated_at < a.freshness_s * v_stale_factor * interval '1 second',
          false
        ),
        'fresh', coalesce(p_now - cache.validated_at < a.freshness_s * interval '1 second', false),
        'last_updated', wisely.iso_utc(cache.validated_at)
      )
    ),
    '{}'::jsonb
  )
  into v_freshness
  from wisely.agents a
  left join lateral (
    select max(ac.validated_at) as validated_at
    from wisely.agent_cache ac
    where v_scope is not null
      and ac.user_id = v_user
      and ac.agent = a.name
      and ac.scope_key collate "C" >= v_scope
      and ac.scope_key collate "C" < v_scope_end
      and (ac.scope_key = v_scope or starts_with(ac.scope_key, v_scope_child))
  ) as cache on true
  where a.enabled;

  if v_intent.id is not null then
    if v_session.id is null then
      v_next_week := 1;
      v_next_day := 1;
    elsif v_session.day = 7 then
      v_next_week := v_session.week + 1;
      v_next_day := 1;
    else
      v_next_week := v_session.week;
      v_next_day := v_session.day + 1;
    end if;
    -- Past week 520, day 7 the program is over: nothing more is scheduled.
    if v_next_week <= 520 then
      v_next_run := jsonb_build_object(
        'week', v_next_week,
        'day', v_next_day,
        'estimated_time', wisely.iso_utc(wisely.next_run_at(
          v_intent.user_tz,
          v_intent.plan_time,
          (v_session.created_at at time zone v_intent.user_tz)::date,
          p_now
        )),
        'timezone', v_intent.user_tz
      );
    end if;
  end if;

  select jsonb_build_object(
    'total_sessions', (select count(*) from wisely.sessions s where s.user_id = v_user),
    'completed_sessions', count(*),
    'total_time_min', coalesce(sum(c.completion_time_min), 0),
    'average_confidence', round(avg(c.confidence), 1),
    'current_streak_days', wisely.streak_days(v_user, v_tz, p_now)
  )
  into v_stats
  from wisely.completions c
  where c.user_id = v_user;

  return jsonb_build_object(
    'user_id', v_user,
    'active_intent', v_active_intent,
    'latest_session', v_latest_session,
    'signal_freshness', v_freshness,
    'next_scheduled_run', v_next_run,
    'learning_stats', v_stats
  );
end;
$$;

revoke all on function
  wisely.iso_utc(timestamptz),
  wisely.streak_days(uuid, text, timestamptz),
  wisely.next_run_at(text, time, date, timestamptz),
  wisely.user_status(timestamptz)
from public, anon;
grant execute on function
  wisely.iso_utc(timestamptz),
  wisely.streak_days(uuid, text, timestamptz),
  wisely.next_run_at(text, time, date, timestamptz),
  wisely.user_status(timestamptz)
to authenticated, service_role;
