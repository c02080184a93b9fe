-- Learner controls (spec 12, issue 12): pause, resume and cancel with a streak freeze, and the
-- states of a session.
--
-- 1. Pauses. `wisely.intent_pauses` is the history of pause windows, one row per pause: local
--    dates (the intent's user_tz) `starts_on` .. `ends_on` (inclusive: the last paused day),
--    cut short by a resume (`resumed_on`, the local date from which the intent is active again;
--    `resumed_at`, when). A local day d is paused when starts_on <= d <= ends_on and (resumed_on
--    is null or d < resumed_on); once ends_on has passed the intent is active again by itself,
--    no job needed. Least privilege (the model of 20260101000600): pauses freeze the streak that
--    status reports, so a learner must not write them directly (a backdated pause would repair a
--    broken streak). `authenticated` only reads its own rows; the rows are written by
--    wisely.pause_intent / wisely.resume_intent (SECURITY DEFINER: today from now() in the
--    intent's zone, at most 60 days ahead) and by the trigger that ends a pause when its intent
--    stops being active (intent.cancel, or intent.sync replacing it).
-- 2. Cancel: `intents.cancelled_at`, set by intent.cancel together with `active = false`; a
--    cancelled intent is never active (check). Its sessions, completions and events stay.
-- 3. Session states: `sessions.state`, planned (composed, not yet opened by the learner),
--    opened (returned by the learner's own day.run), completed (has a completion), skipped (its
--    local day, `planned_on`, passed without a completion). The column is kept true by
--    triggers from the facts (completions, opened_at, planned_on, the intent's zone), whoever
--    writes the row, and `authenticated` has no INSERT or UPDATE privilege on it: a learner's
--    raw database session can neither forge `completed` nor anything else. day.tick marks
--    sessions whose day passed (wisely.mark_skipped_sessions); reads derive `skipped` from
--    planned_on as well (wisely.session_state), so they are right before any tick ran.
-- 4. wisely.due_day_runs (20260101000900) again: nothing is due for a paused intent.
-- 5. wisely.streak_days and wisely.user_status (20260101000200) again: paused days without a
--    completion neither break nor extend the streak; status shows the state and paused_until.
-- 6. wisely.event_payload_spec and wisely.record_event (20260101000600) again, with
--    intent_paused {intent_id, paused_until: date}, intent_resumed and intent_cancelled.

-- Intents: cancelled ------------------------------------------------------------------------

alter table wisely.intents add column if not exists cancelled_at timestamptz;

do $$
begin
  if not exists (
    select 1 from pg_catalog.pg_constraint where conname = 'intents_cancelled_inactive'
  ) then
    alter table wisely.intents
      add constraint intents_cancelled_inactive check (cancelled_at is null or not active);
  end if;
end;
$$;

-- Pause windows ------------------------------------------------------------------------------

create table if not exists wisely.intent_pauses (
  id uuid primary key default gen_random_uuid(),
  intent_id uuid not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  starts_on date not null,
  ends_on date not null,
  resumed_at timestamptz,
  resumed_on date,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (ends_on >= starts_on),
  check ((resumed_at is null) = (resumed_on is null)),
  check (resumed_on is null or resumed_on >= starts_on),
  foreign key (intent_id, user_id) references wisely.intents (id, user_id) on delete cascade
);
create index if not exists intent_pauses_intent on wisely.intent_pauses (intent_id, ends_on);
create index if not exists intent_pauses_user on wisely.intent_pauses (user_id, ends_on);

alter table wisely.intent_pauses enable row level security;
revoke all on wisely.intent_pauses from public, anon, authenticated;
grant all on wisely.intent_pauses to service_role;
grant select on wisely.intent_pauses to authenticated;
drop policy if exists intent_pauses_read_own on wisely.intent_pauses;
create policy intent_pauses_read_own on wisely.intent_pauses for select to authenticated
  using (user_id = (select auth.uid()));

-- The last paused day of the pause of p_intent_id that covers local day p_on; null when that
-- day is not paused. Security invoker: under RLS a caller sees only its own pauses.
create or replace function wisely.paused_until(p_intent_id uuid, p_on date) returns date
language sql stable
set search_path = ''
as $$
  select max(p.ends_on)
  from wisely.intent_pauses p
  where p.intent_id = p_intent_id
    and p.starts_on <= p_on and p_on <= p.ends_on
    and (p.resumed_on is null or p_on < p.resumed_on)
$$;

-- True when local day p_on is inside one of p_user's pause windows (of any of their intents).
create or replace function wisely.user_paused_on(p_user uuid, p_on date) returns boolean
language sql stable
set search_path = ''
as $$
  select exists (
    select 1
    from wisely.intent_pauses p
    where p.user_id = p_user
      and p.starts_on <= p_on and p_on <= p.ends_on
      and (p.resumed_on is null or p_on < p.resumed_on)
  )
$$;

-- Pauses the caller's active intent from today (local) through p_until (default: today + 60,
-- "until resumed", at most 60 days). Pausing a paused intent moves its last day. Serialised
-- with intent.sync by the same per-user lock. Outcomes: 'paused' (changed: a new window or a
-- new last day), 'no_intent', 'until_past', 'until_too_far' (today is returned for the message).
create or replace function wisely.pause_intent(p_until date)
returns table (outcome text, intent_id uuid, paused_until date, today date, changed boolean)
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
  v_intent wisely.intents%rowtype;
  v_today date;
  v_until date;
  v_pause uuid;
  v_old date;
begin
  if v_user is null then
    raise exception 'pause_intent needs a user' using errcode = '28000';
  end if;
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('wisely.intent:' || v_user::text, 0)
  );
  select i.* into v_intent from wisely.intents i where i.user_id = v_user and i.active;
  if v_intent.id is null then
    return query select 'no_intent', null::uuid, null::date, null::date, false;
    return;
  end if;
  v_today := (pg_catalog.now() at time zone v_intent.user_tz)::date;
  v_until := coalesce(p_until, v_today + 60);
  if v_until < v_today or v_until > v_today + 60 then
    return query select case when v_until < v_today then 'until_past' else 'until_too_far' end,
      v_intent.id, null::date, v_today, false;
    return;
  end if;
  select p.id, p.ends_on into v_pause, v_old
  from wisely.intent_pauses p
  where p.intent_id = v_intent.id
    and p.starts_on <= v_today and v_today <= p.ends_on
    and (p.resumed_on is null or v_today < p.resumed_on)
  order by p.ends_on desc
  limit 1;
  if v_pause is null then
    insert into wisely.intent_pauses (intent_id, user_id, starts_on, ends_on)
    values (v_intent.id, v_user, v_today, v_until);
  elsif v_old <> v_until then
    update wisely.intent_pauses p set ends_on = v_until, updated_at = pg_catalog.now()
    where p.id = v_pause;
  end if;
  return query select 'paused', v_intent.id, v_until, v_today,
    v_pause is null or v_old <> v_until;
end;
$$;

-- Resumes the caller's active intent: the pause covering today ends, today is active again.
-- Outcomes: 'resumed' (changed: false when it was not paused), 'no_intent'.
create or replace function wisely.resume_intent()
returns table (outcome text, intent_id uuid, changed boolean)
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
  v_intent wisely.intents%rowtype;
  v_today date;
  v_count integer;
begin
  if v_user is null then
    raise exception 'resume_intent needs a user' using errcode = '28000';
  end if;
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('wisely.intent:' || v_user::text, 0)
  );
  select i.* into v_intent from wisely.intents i where i.user_id = v_user and i.active;
  if v_intent.id is null then
    return query select 'no_intent', null::uuid, false;
    return;
  end if;
  v_today := (pg_catalog.now() at time zone v_intent.user_tz)::date;
  update wisely.intent_pauses p
  set resumed_at = pg_catalog.now(), resumed_on = v_today, updated_at = pg_catalog.now()
  where p.intent_id = v_intent.id
    and p.starts_on <= v_today and v_today <= p.ends_on
    and (p.resumed_on is null or v_today < p.resumed_on);
  get diagnostics v_count = row_count;
  return query select 'resumed', v_intent.id, v_count > 0;
end;
$$;

-- An intent that stops being active (intent.cancel, or intent.sync replacing it) is not paused
-- any more: its open pause ends today, so later days do not freeze the streak.
create or replace function wisely.end_pause_of_inactive_intent() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_today date := (pg_catalog.now() at time zone new.user_tz)::date;
begin
  update wisely.intent_pauses p
  set resumed_at = pg_catalog.now(), resumed_on = greatest(v_today, p.starts_on),
    updated_at = pg_catalog.now()
  where p.intent_id = new.id and p.ends_on >= v_today
    and (p.resumed_on is null or p.resumed_on > v_today);
  return null;
end;
$$;
revoke all on function wisely.end_pause_of_inactive_intent() from public, anon, authenticated;

drop trigger if exists intents_end_pause on wisely.intents;
create trigger intents_end_pause
  after update of active on wisely.intents
  for each row when (old.active and not new.active)
  execute function wisely.end_pause_of_inactive_intent();

-- Session states -----------------------------------------------------------------------------

alter table wisely.sessions
  add column if not exists state text not null default 'planned'
    constraint sessions_state_check
    check (state in ('planned', 'opened', 'completed', 'skipped'));

-- The state a reader shows: a stored planned/opened session whose local day (planned_on) is
-- before p_today is skipped, even if no tick marked it yet.
create or replace function wisely.session_state(p_state text, p_planned_on date, p_today date)
returns text
language sql immutable parallel safe
set search_path = ''
as $$
  select case
    when p_state in ('planned', 'opened') and p_planned_on < p_today then 'skipped'
    else p_state
  end
$$;

-- Keeps `state` true on every insert and update, whoever writes the row and whatever `state`
-- the statement names: completed when the session has a completion; else skipped when the row
-- says so (day.tick's mark) and its local day has indeed passed; else opened when the learner
-- opened it; else planned. Time passing changes no row: a planned or opened session whose day
-- passed stays so until day.tick marks it, and readers derive skipped meanwhile
-- (wisely.session_state). Also fills a missing planned_on with the local date of created_at
-- (what it meant before 20260101000900).
create or replace function wisely.keep_session_state() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_tz text;
  v_completed boolean;
begin
  select i.user_tz into v_tz from wisely.intents i where i.id = new.intent_id;
  new.planned_on := coalesce(
    new.planned_on,
    (coalesce(new.created_at, pg_catalog.now()) at time zone v_tz)::date
  );
  v_completed := exists (select 1 from wisely.completions c where c.session_id = new.id);
  new.state := case
    when v_completed then 'completed'
    when new.state = 'skipped' and new.planned_on < (pg_catalog.now() at time zone v_tz)::date
      then 'skipped'
    when new.opened_at is not null then 'opened'
    else 'planned'
  end;
  return new;
end;
$$;
revoke all on function wisely.keep_session_state() from public, anon, authenticated;

drop trigger if exists sessions_keep_state on wisely.sessions;
create trigger sessions_keep_state
  before insert or update on wisely.sessions
  for each row execute function wisely.keep_session_state();

-- A completion written or removed changes its session's state (the trigger above recomputes).
create or replace function wisely.touch_completed_session() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update wisely.sessions s set state = s.state
  where s.id = case when tg_op = 'DELETE' then old.session_id else new.session_id end;
  return null;
end;
$$;
revoke all on function wisely.touch_completed_session() from public, anon, authenticated;

drop trigger if exists completions_touch_session on wisely.completions;
create trigger completions_touch_session
  after insert or delete on wisely.completions
  for each row execute function wisely.touch_completed_session();

-- Backfill: every session gets its planned_on and, through the trigger, its state (skipped
-- ones are marked after the function below exists).
update wisely.sessions s set planned_on = coalesce(s.planned_on,
  (s.created_at at time zone i.user_tz)::date)
from wisely.intents i
where i.id = s.intent_id;

-- The sessions day.tick may still have to mark skipped: few (about one per active learner).
create index if not exists sessions_unfinished on wisely.sessions (planned_on)
  where state in ('planned', 'opened');

-- Marks the sessions whose local day passed before p_now without a completion skipped (the
-- trigger checks it against the facts); returns how many. day.tick calls it on every pass.
create or replace function wisely.mark_skipped_sessions(p_now timestamptz) returns integer
language plpgsql volatile
set search_path = ''
as $$
declare
  v_count integer;
begin
  update wisely.sessions s set state = 'skipped'
  from wisely.intents i
  where s.state in ('planned', 'opened')
    and s.planned_on < (p_now at time zone 'UTC')::date + 1
    and i.id = s.intent_id
    and s.planned_on < (p_now at time zone i.user_tz)::date;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
revoke all on function wisely.mark_skipped_sessions(timestamptz) from public, anon, authenticated;
grant execute on function wisely.mark_skipped_sessions(timestamptz) to service_role;

select wisely.mark_skipped_sessions(now());

-- Least privilege: `authenticated` writes every column of its sessions but `state` (and
-- reads all). Column privileges replace the table-wide INSERT and UPDATE of 20260101000000.
revoke insert, update on wisely.sessions from authenticated;
grant insert (id, user_id, intent_id, week, day, revision, plan_md, plan_summary, plan,
  total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality, created_at,
  updated_at, opened_at, planned_on, inputs_changed_at)
  on wisely.sessions to authenticated;
grant update (id, user_id, intent_id, week, day, revision, plan_md, plan_summary, plan,
  total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality, created_at,
  updated_at, opened_at, planned_on, inputs_changed_at)
  on wisely.sessions to authenticated;

-- The tick's due runs ------------------------------------------------------------------------

-- As in 20260101000900, with one change: an intent paused today (local) has nothing due,
-- neither its next day nor a retry.
create or replace function wisely.due_day_runs(p_now timestamptz, p_limit integer)
returns table (user_id uuid, intent_id uuid, week integer, day integer, kind text, due_at timestamptz)
language sql stable
set search_path = ''
as $$
  (
    select i.user_id, i.id, nx.week, nx.day, 'next', slot.at
    from wisely.intents i
    left join lateral (
      select s.week, s.day, s.created_at, s.opened_at is not null as opened,
        exists (select 1 from wisely.completions c where c.session_id = s.id) as completed
      from wisely.sessions s
      where s.intent_id = i.id
      order by s.week desc, s.day desc
      limit 1
    ) latest on true
    cross join lateral (
      select
        case when latest.week is null then 1
          when latest.day = 7 then latest.week + 1 else latest.week end as week,
        case when latest.week is null or latest.day = 7 then 1 else latest.day + 1 end as day
    ) nx
    cross join lateral (
      select (
        coalesce(
          (latest.created_at at time zone i.user_tz)::date + 1,
          (i.created_at at time zone i.user_tz)::date
        ) + i.plan_time
      ) at time zone i.user_tz as at
    ) slot
    where i.active
      and nx.week <= 520
      and slot.at <= p_now
      and (latest.week is null or latest.completed
        or (latest.opened and latest.created_at <= p_now - interval '1 day'))
      and wisely.paused_until(i.id, (p_now at time zone i.user_tz)::date) is null
    order by slot.at
    limit p_limit
  )
  union all
  (
    select s.user_id, s.intent_id, s.week, s.day, 'retry', s.updated_at
    from wisely.sessions s
    join wisely.intents i on i.id = s.intent_id and i.active
    where ((
      s.degraded_mode
      and s.updated_at > p_now - interval '1 day'
      and not exists (
        select 1
        from jsonb_each(s.signal_quality) as q (agent, quality)
        where q.quality ->> 'available' = 'false'
          and not exists (
            select 1 from wisely.agent_calls c
            where c.agent = q.agent and c.created_at > s.updated_at
              and c.outcome in ('fetched', 'revalidated')
          )
      )
    ) or (s.inputs_changed_at is not null and s.opened_at is null))
      and wisely.paused_until(i.id, (p_now at time zone i.user_tz)::date) is null
    order by s.updated_at
    limit p_limit
  )
$$;
revoke all on function wisely.due_day_runs(timestamptz, integer) from public, anon, authenticated;
grant execute on function wisely.due_day_runs(timestamptz, integer) to service_role;

-- Streak with a freeze ------------------------------------------------------------------------

-- Consecutive local calendar days (p_tz), each with at least one completion, ending today or
-- yesterday, as in 20260101000200, except that a day inside one of the user's pause windows
-- with no completion is stepped over: it neither breaks nor extends the streak. A paused day
-- with a completion counts as usual. Walking back from today: a day with a completion counts;
-- today without one, or a paused day without one, is stepped over; any other day ends the walk.
-- One index range probe on completions(user_id, completed_at) per day (and one on the user's
-- pauses for a day without a completion): the cost is the streak's length plus its paused
-- days, never the history's. Capped at 3660 counted days and as many stepped over.
create or replace function wisely.streak_days(p_user uuid, p_tz text, p_now timestamptz)
returns integer
language plpgsql stable
set search_path = ''
as $$
declare
  v_today date := (p_now at time zone p_tz)::date;
  v_day date := v_today;
  v_start timestamptz;
  v_end timestamptz;
  v_count integer := 0;
  v_skipped integer := 0;
begin
  while v_count < 3660 and v_skipped <= 3660 loop
    -- Local midnights as plain values, so the probe compares bare columns (see 20260101000200).
    v_start := v_day::timestamp at time zone p_tz;
    v_end := (v_day + 1)::timestamp at time zone p_tz;
    if exists (
      select 1 from wisely.completions c
      where c.user_id = p_user and c.completed_at >= v_start and c.completed_at < v_end
    ) then
      v_count := v_count + 1;
    elsif v_day = v_today or wisely.user_paused_on(p_user, v_day) then
      v_skipped := v_skipped + 1;
    else
      exit;
    end if;
    v_day := v_day - 1;
  end loop;
  return v_count;
end;
$$;

-- Status ------------------------------------------------------------------------------------

-- As in 20260101000200, and: `active_intent.state` ('active' | 'paused') and
-- `active_intent.paused_until` (the last paused local day, null when not paused);
-- `latest_session.state`; while paused, next_scheduled_run is after the pause.
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
  v_today date;
  v_paused_until date;
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
  v_today := (p_now at time zone v_tz)::date;

  if v_intent.id is not null then
    v_paused_until := wisely.paused_until(v_intent.id, v_today);
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
      'meta', v_intent.meta || jsonb_build_object('plan_time', left(v_intent.plan_time::text, 5)),
      -- Paused: through paused_until (a local date), then active again by itself.
      'state', case when v_paused_until is null then 'active' else 'paused' end,
      'paused_until', to_char(v_paused_until, 'YYYY-MM-DD')
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
      'state', wisely.session_state(v_session.state, v_session.planned_on, v_today),
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
          -- While paused, the next run is after the pause (greatest() ignores nulls).
          greatest((v_session.created_at at time zone v_intent.user_tz)::date, v_paused_until),
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
-- Events --------------------------------------------------------------------------------------

-- As in 20260101000600, with the three learner-control events and the kind `date`.
-- The payload of each event type: its keys (exactly these) and what each holds. Mirrors
-- EventPayloadSchemas in supabase/functions/_shared/event_schemas.ts. Kinds: uuid, uuid? (or
-- null), flag (boolean), week (1..520), day (1..7), count (>= 0), revision (>= 1), date (a
-- "YYYY-MM-DD" string). Null: unknown type.
-- PL/pgSQL, like the other helpers here: it caches its plans per session, where a non-inlined
-- SQL function would be planned again by every statement that calls it.
create or replace function wisely.event_payload_spec(p_type text) returns jsonb
language plpgsql immutable parallel safe
set search_path = ''
as $$
begin
  return case p_type
    when 'intent_synced' then
      '{"intent_id": "uuid", "created": "flag", "replaced_intent_id": "uuid?"}'::jsonb
    when 'instructor_plan_created' then
      '{"session_id": "uuid", "intent_id": "uuid", "week": "week", "day": "day",
        "revision": "revision", "degraded_mode": "flag", "cache_hits": "count",
        "cache_misses": "count"}'::jsonb
    when 'day_completed' then
      '{"session_id": "uuid", "intent_id": "uuid", "week": "week", "day": "day",
        "next_week": "week", "next_day": "day"}'::jsonb
    when 'intent_paused' then '{"intent_id": "uuid", "paused_until": "date"}'::jsonb
    when 'intent_resumed' then '{"intent_id": "uuid"}'::jsonb
    when 'intent_cancelled' then '{"intent_id": "uuid"}'::jsonb
  end;
end;
$$;

-- Records one event for the caller: `user_id = auth.uid()`, `created_at = now()`. The type must
-- be known and the payload must have exactly its keys, each of its kind (so no text the user
-- wrote can ride along), and must describe the caller's own rows as they are stored:
-- - intent_synced: intent_id (and replaced_intent_id, when set) are the caller's intents;
-- - instructor_plan_created: the caller's session, with its intent, week, day, revision,
--   degraded_mode and cache counts;
-- - day_completed: the caller's completed session, with its intent, week and day, and the day
--   after it as next_week/next_day;
-- - intent_paused: the caller's active intent, paused today (its local today) through exactly
--   paused_until;
-- - intent_resumed: the caller's active intent, not paused today;
-- - intent_cancelled: the caller's intent, inactive and cancelled.
-- 22023 for an unknown type or a malformed payload; 42501 when it names rows that are not the
-- caller's or not as stored. Returns the event's id.
create or replace function wisely.record_event(p_type text, p_payload jsonb) returns bigint
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
  v_spec jsonb := wisely.event_payload_spec(p_type);
  v_ok boolean;
  v_id bigint;
begin
  if v_user is null then
    raise exception 'record_event needs a user' using errcode = '28000';
  end if;
  if v_spec is null then
    raise exception 'unknown event type %', coalesce(p_type, 'null') using errcode = '22023';
  end if;
  if jsonb_typeof(p_payload) is distinct from 'object' or exists (
    -- Full join: a key of the spec missing from the payload has a null value (not of any
    -- kind), a key the spec lacks has a null kind. Nested CASE: casts run on JSON numbers only.
    select 1
    from jsonb_each_text(v_spec) s (key, kind)
    full join jsonb_each(case when jsonb_typeof(p_payload) = 'object' then p_payload end)
      p (key, value) using (key)
    where not coalesce(case
      when s.kind = 'uuid?' and p.value = 'null'::jsonb then true
      when s.kind in ('uuid', 'uuid?') then
        jsonb_typeof(p.value) = 'string' and (p.value #>> '{}')
          ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      when s.kind = 'flag' then jsonb_typeof(p.value) = 'boolean'
      when s.kind = 'date' then
        jsonb_typeof(p.value) = 'string'
          and (p.value #>> '{}') ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'
      when jsonb_typeof(p.value) = 'number' then
        case when p.value::numeric = trunc(p.value::numeric) then
          case s.kind
            when 'week' then p.value::numeric between 1 and 520
            when 'day' then p.value::numeric between 1 and 7
            when 'count' then p.value::numeric between 0 and 2147483647
            when 'revision' then p.value::numeric between 1 and 2147483647
          end
        end
    end, false)
  ) then
    raise exception 'the payload of % must have exactly the keys %, each of its kind',
      p_type, v_spec using errcode = '22023';
  end if;

  v_ok := case p_type
    when 'intent_synced' then
      exists (
        select 1 from wisely.intents i
        where i.id = (p_payload ->> 'intent_id')::uuid and i.user_id = v_user
      )
      and (p_payload -> 'replaced_intent_id' = 'null'::jsonb or exists (
        select 1 from wisely.intents i
        where i.id = (p_payload ->> 'replaced_intent_id')::uuid and i.user_id = v_user
      ))
    when 'instructor_plan_created' then
      exists (
        select 1 from wisely.sessions s
        where s.id = (p_payload ->> 'session_id')::uuid and s.user_id = v_user
          and s.intent_id = (p_payload ->> 'intent_id')::uuid
          and s.week = (p_payload ->> 'week')::integer and s.day = (p_payload ->> 'day')::integer
          and s.revision = (p_payload ->> 'revision')::integer
          and s.degraded_mode = (p_payload ->> 'degraded_mode')::boolean
          and s.cache_hits = (p_payload ->> 'cache_hits')::integer
          and s.cache_misses = (p_payload ->> 'cache_misses')::integer
      )
    when 'day_completed' then
      exists (
        select 1 from wisely.sessions s
        join wisely.completions c on c.session_id = s.id and c.user_id = v_user
        where s.id = (p_payload ->> 'session_id')::uuid and s.user_id = v_user
          and s.intent_id = (p_payload ->> 'intent_id')::uuid
          and s.week = (p_payload ->> 'week')::integer and s.day = (p_payload ->> 'day')::integer
          -- The day after, as nextDay() in _shared/plan/hint.ts: week 520 day 7 is the last.
          and ((p_payload ->> 'next_week')::integer, (p_payload ->> 'next_day')::integer)
            = (case when s.day < 7 or s.week >= 520 then s.week else s.week + 1 end,
               case when s.day < 7 then s.day + 1 when s.week >= 520 then s.day else 1 end)
      )
    when 'intent_paused' then
      -- Compared as text: the payload's date is never cast, so no malformed one can raise.
      exists (
        select 1 from wisely.intents i
        where i.id = (p_payload ->> 'intent_id')::uuid and i.user_id = v_user and i.active
          and pg_catalog.to_char(
            wisely.paused_until(i.id, (pg_catalog.now() at time zone i.user_tz)::date),
            'YYYY-MM-DD'
          ) = p_payload ->> 'paused_until'
      )
    when 'intent_resumed' then
      exists (
        select 1 from wisely.intents i
        where i.id = (p_payload ->> 'intent_id')::uuid and i.user_id = v_user and i.active
          and wisely.paused_until(i.id, (pg_catalog.now() at time zone i.user_tz)::date) is null
      )
    when 'intent_cancelled' then
      exists (
        select 1 from wisely.intents i
        where i.id = (p_payload ->> 'intent_id')::uuid and i.user_id = v_user
          and not i.active and i.cancelled_at is not null
      )
  end;
  if v_ok is not true then
    raise exception 'a % event may only describe the caller''s own rows as stored', p_type
      using errcode = '42501';
  end if;

  insert into wisely.events (user_id, type, payload, created_at)
  values (v_user, p_type, p_payload, pg_catalog.now())
  returning id into v_id;
  return v_id;
end;
$$;

-- Grants -------------------------------------------------------------------------------------

revoke all on function
  wisely.paused_until(uuid, date),
  wisely.user_paused_on(uuid, date),
  wisely.session_state(text, date, date),
  wisely.streak_days(uuid, text, timestamptz),
  wisely.user_status(timestamptz),
  wisely.pause_intent(date),
  wisely.resume_intent(),
  wisely.event_payload_spec(text),
  wisely.record_event(text, jsonb)
from public, anon;
grant execute on function
  wisely.paused_until(uuid, date),
  wisely.user_paused_on(uuid, date),
  wisely.session_state(text, date, date),
  wisely.streak_days(uuid, text, timestamptz),
  wisely.user_status(timestamptz),
  wisely.pause_intent(date),
  wisely.resume_intent(),
  wisely.event_payload_spec(text),
  wisely.record_event(text, jsonb)
to authenticated, service_role;
