-- Spaced review and learning days (spec 7, 8; issue 9).
--
-- 1. Objective memory: every objective a learner meets is remembered with an FSRS memory state
--    (ts-fsrs, _shared/memory/). `objective_reviews` is the history (one row per objective a
--    completed session rated); `objective_memory` is the state that history replays to, kept so
--    day.run reads one row per objective instead of replaying. day.done writes both in the
--    learner's own transaction.
--
--    Privilege (the model of 20260101000600): these tables are what a learner OWNS, like
--    completions, so `authenticated` may write its own rows under RLS. They are derived only from
--    the learner's own completions (which the learner may already write), they shape only that
--    learner's plans, and nothing other users or the operator rely on reads them: no metric, no
--    broadcast, no shared cache, no limit or single-flight guard. A learner writing them directly
--    gains nothing day.done with other ratings would not give. CHECKs keep the values sane, and
--    composite foreign keys keep each row on the learner's own intent and session.
--
-- 2. Session markers for pre-generated plans, named for the session states a later issue adds
--    (planned / opened / completed / skipped):
--    - `opened_at`: when the learner's own day.run first returned the session (day.tick's runs
--      do not open it). Sessions older than this migration count as opened.
--    - `planned_on`: the learner's local date (user_tz) the plan was composed for.
--    - `inputs_changed_at`: set by day.done when a completion changes the inputs of an unopened
--      next-day plan; such a plan is composed again (day.run, or day.tick's `retry`) before the
--      learner sees it, and the mark is cleared.
--
-- 3. wisely.due_day_runs (20260101000500) again, with two changes: a `next` day after an
--    uncompleted session is due only if the learner opened that session, so day.tick stops after
--    one uncompleted day instead of pre-generating for a learner who stopped; and `retry` also
--    covers unopened sessions whose inputs changed.

-- Sessions -----------------------------------------------------------------------------------

alter table wisely.sessions
  add column if not exists opened_at timestamptz,
  add column if not exists planned_on date,
  add column if not exists inputs_changed_at timestamptz;

-- Every session so far was made by a learner's day.run or shown since: opened.
update wisely.sessions set opened_at = created_at where opened_at is null;

-- Lets objective_reviews name (session, intent, user) with one foreign key.
do $$
begin
  if not exists (
    select 1 from pg_catalog.pg_constraint where conname = 'sessions_id_intent_user_key'
  ) then
    alter table wisely.sessions
      add constraint sessions_id_intent_user_key unique (id, intent_id, user_id);
  end if;
end;
$$;

-- Objective reviews --------------------------------------------------------------------------

create table if not exists wisely.objective_reviews (
  session_id uuid not null,
  objective_key text not null check (char_length(objective_key) between 1 and 500),
  user_id uuid not null references auth.users (id) on delete cascade,
  intent_id uuid not null,
  -- The session's place in the programme and the learner's count of learning days (completed
  -- sessions up to and including this one, in programme order): spec 7 counts elapsed days as
  -- calendar days in user_tz but never fewer than the learning days completed in between.
  week integer not null check (week between 1 and 520),
  day integer not null check (day between 1 and 7),
  learning_day integer not null check (learning_day between 1 and 3640),
  -- FSRS: 1 Again, 2 Hard, 3 Good, 4 Easy.
  rating smallint not null check (rating between 1 and 4),
  -- True for an item of the session's review block, false for one of its objectives.
  in_review boolean not null default false,
  reviewed_at timestamptz not null,
  primary key (session_id, objective_key),
  foreign key (session_id, intent_id, user_id)
    references wisely.sessions (id, intent_id, user_id) on delete cascade
);
create index if not exists objective_reviews_intent_key
  on wisely.objective_reviews (intent_id, objective_key);
create index if not exists objective_reviews_user on wisely.objective_reviews (user_id);

-- Objective memory ---------------------------------------------------------------------------

create table if not exists wisely.objective_memory (
  intent_id uuid not null,
  objective_key text not null check (char_length(objective_key) between 1 and 500),
  user_id uuid not null references auth.users (id) on delete cascade,
  objective text not null check (char_length(objective) between 1 and 500),
  -- Where the learner first met it: what a review block names ("Week 1, Day 2").
  origin_week integer not null check (origin_week between 1 and 520),
  origin_day integer not null check (origin_day between 1 and 7),
  -- The FSRS card after its last review.
  stability double precision not null check (stability > 0 and stability < 1e6),
  difficulty double precision not null check (difficulty between 1 and 10),
  state smallint not null check (state between 0 and 3),
  reps integer not null check (reps between 0 and 100000),
  lapses integer not null check (lapses between 0 and 100000),
  scheduled_days integer not null check (scheduled_days between 0 and 36500),
  last_rating smallint not null check (last_rating between 1 and 4),
  last_learning_day integer not null check (last_learning_day between 1 and 3640),
  last_reviewed_at timestamptz not null,
  updated_at timestamptz not null default now(),
  primary key (intent_id, objective_key),
  foreign key (intent_id, user_id) references wisely.intents (id, user_id) on delete cascade
);
create index if not exists objective_memory_user on wisely.objective_memory (user_id);

alter table wisely.objective_reviews enable row level security;
alter table wisely.objective_memory enable row level security;

revoke all on wisely.objective_reviews, wisely.objective_memory from public, anon;
grant all on wisely.objective_reviews, wisely.objective_memory to service_role;
grant select, insert, update, delete on wisely.objective_reviews, wisely.objective_memory
  to authenticated;

drop policy if exists objective_reviews_own on wisely.objective_reviews;
create policy objective_reviews_own on wisely.objective_reviews for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists objective_memory_own on wisely.objective_memory;
create policy objective_memory_own on wisely.objective_memory for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

-- The tick's due runs ------------------------------------------------------------------------

-- Due runs, oldest slot first, at most p_limit of each kind:
-- - `next`: an active intent's next day (after its latest session in program order; week 1
--   day 1 without one), once the intent's plan_time has passed in its zone on the local date
--   after the latest session's, and the latest session is completed, or the learner opened it
--   and it is a day old. A latest session nobody opened and nobody completed (one this tick
--   pre-generated for a learner who did not come back) stops the chain.
-- - `retry`: a degraded session of the last day whose unavailable agents have each answered
--   successfully (to anyone) since the session was written, so a rerun can do better; or an
--   unopened session whose inputs a completion changed (inputs_changed_at).
-- Called by the service role (it sees every user's rows).
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
    order by slot.at
    limit p_limit
  )
  union all
  (
    select s.user_id, s.intent_id, s.week, s.day, 'retry', s.updated_at
    from wisely.sessions s
    join wisely.intents i on i.id = s.intent_id and i.active
    where (
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
    ) or (s.inputs_changed_at is not null and s.opened_at is null)
    order by s.updated_at
    limit p_limit
  )
$$;
revoke all on function wisely.due_day_runs(timestamptz, integer) from public, anon, authenticated;
grant execute on function wisely.due_day_runs(timestamptz, integer) to service_role;
