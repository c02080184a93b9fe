-- Wisely Orchestrator: schema, constraints, row-level security and grants.
--
-- Relies only on what a Supabase database already has (roles anon/authenticated/service_role,
-- auth.users, auth.uid(), gen_random_uuid()), so it applies unchanged to a hosted project.
-- Constraints repeat the API's bounds on purpose: bad data is rejected even if code is wrong.

create schema if not exists wisely;
revoke all on schema wisely from public;
grant usage on schema wisely to authenticated, service_role;

-- The IANA zones this database knows, for `intents.user_tz`. A foreign key makes the check one
-- index probe (scanning pg_timezone_names costs tens of milliseconds). Re-run the insert after
-- a Postgres upgrade brings new zones.
create table wisely.time_zones (
  name text primary key
);
insert into wisely.time_zones (name)
select name from pg_catalog.pg_timezone_names
where name !~ '^(posix|right)/' and name <> 'localtime'
on conflict do nothing;

-- settings and agents: tunables, readable by signed-in users, changed by the service role ------
create table wisely.settings (
  key text primary key check (key ~ '^[a-z][a-z0-9_.]{0,63}$'),
  value jsonb not null,
  description text not null default '',
  updated_at timestamptz not null default now()
);

create table wisely.agents (
  name text primary key check (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
  path text not null check (length(path) between 1 and 500),
  scope text not null check (scope in ('intent', 'intent_week', 'intent_week_day')),
  freshness_s integer not null check (freshness_s > 0),
  timeout_ms integer not null check (timeout_ms between 100 and 120000),
  required boolean not null default false,
  enabled boolean not null default true,
  max_concurrency integer not null default 32 check (max_concurrency between 1 and 10000),
  sort_order integer not null default 0,
  updated_at timestamptz not null default now()
);

insert into wisely.agents (name, path, scope, freshness_s, timeout_ms, required, sort_order)
values
  ('clo', '/functions/v1/agent-clo', 'intent_week', 86400, 15000, true, 1),
  ('alex', '/functions/v1/agent-alex', 'intent', 604800, 15000, false, 2),
  ('ta', '/functions/v1/agent-ta', 'intent_week_day', 21600, 15000, false, 3),
  ('socratic', '/functions/v1/agent-socratic', 'intent_week_day', 21600, 15000, false, 4)
on conflict (name) do nothing;

insert into wisely.settings (key, value, description)
values
  ('run.deadline_ms', '12000', 'day.run answer deadline'),
  ('run.research_deadline_ms', '30000', 'day.run answer deadline with research'),
  ('agent.attempt_timeout_ms', '15000', 'ceiling for one agent attempt'),
  ('agent.stale_factor', '7', 'a cached payload is served stale up to this many freshness windows'),
  ('agent.max_retries', '3', 'retries after the first attempt'),
  ('agent.backoff_base_ms', '1000', 'first backoff; doubles per retry'),
  ('agent.breaker_threshold', '5', 'consecutive failures that open an agent''s breaker'),
  ('agent.breaker_open_ms', '30000', 'how long an open breaker skips calls'),
  ('rate.day_run', '{"burst": 10, "refill_per_s": 0.0333333}', 'day.run token bucket'),
  ('rate.default', '{"burst": 60, "refill_per_s": 1}', 'token bucket for other routes'),
  ('tick.batch_size', '100', 'intents pre-generated per day.tick call')
on conflict (key) do nothing;

-- intents ------------------------------------------------------------------------------------
create table wisely.intents (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  topic text not null check (char_length(btrim(topic)) between 1 and 200),
  depth text not null check (depth in ('surface', 'informed', 'deep', 'expert')),
  end_goal text not null check (char_length(btrim(end_goal)) between 1 and 500),
  time_per_day_min integer not null check (time_per_day_min between 5 and 480),
  user_tz text not null default 'UTC' references wisely.time_zones (name),
  plan_time time not null default '07:00',
  meta jsonb not null default '{}'::jsonb
    check (jsonb_typeof(meta) = 'object' and octet_length(meta::text) <= 8192),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, user_id)
);
-- One active intent per user, enforced by the database.
create unique index intents_one_active_per_user on wisely.intents (user_id) where active;
create index intents_user_created on wisely.intents (user_id, created_at desc);

-- sessions: the current plan of one (intent, week, day) ------------------------------------
create table wisely.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  intent_id uuid not null,
  week integer not null check (week between 1 and 520),
  day integer not null check (day between 1 and 7),
  revision integer not null default 1 check (revision >= 1),
  plan_md text not null check (length(plan_md) <= 200000),
  plan_summary jsonb not null check (jsonb_typeof(plan_summary) = 'object'),
  plan jsonb not null check (jsonb_typeof(plan) = 'object'),
  total_minutes integer not null check (total_minutes between 5 and 480),
  degraded_mode boolean not null,
  cache_hits integer not null check (cache_hits >= 0),
  cache_misses integer not null check (cache_misses >= 0),
  signal_quality jsonb not null check (jsonb_typeof(signal_quality) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (intent_id, week, day),
  unique (id, user_id),
  -- The intent must be the same user's: a user cannot attach a session to someone else's intent.
  foreign key (intent_id, user_id) references wisely.intents (id, user_id) on delete cascade
);
create index sessions_user_created on wisely.sessions (user_id, created_at desc, id desc);

-- plan_revisions: every plan a session has had, revision 1 included -------------------------
create table wisely.plan_revisions (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  revision integer not null check (revision >= 1),
  plan_md text not null check (length(plan_md) <= 200000),
  plan_summary jsonb not null,
  plan jsonb not null,
  degraded_mode boolean not null,
  cache_hits integer not null check (cache_hits >= 0),
  cache_misses integer not null check (cache_misses >= 0),
  signal_quality jsonb not null,
  created_at timestamptz not null default now(),
  unique (session_id, revision),
  foreign key (session_id, user_id) references wisely.sessions (id, user_id) on delete cascade
);
create index plan_revisions_user on wisely.plan_revisions (user_id);

-- completions: at most one per session ------------------------------------------------------
create table wisely.completions (
  session_id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  completion_time_min integer not null check (completion_time_min between 0 and 1440),
  confidence integer not null check (confidence between 1 and 10),
  notes text check (notes is null or char_length(notes) <= 2000),
  next_day_hint text not null default '' check (length(next_day_hint) <= 1000),
  completed_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (session_id, user_id) references wisely.sessions (id, user_id) on delete cascade
);
create index completions_user_completed on wisely.completions (user_id, completed_at desc);

-- agent_cache: last good payload per (user, agent, scope key) -------------------------------
create table wisely.agent_cache (
  user_id uuid not null references auth.users (id) on delete cascade,
  agent text not null references wisely.agents (name) on delete cascade,
  scope_key text not null check (length(scope_key) between 1 and 200),
  etag text check (etag is null or length(etag) <= 512),
  payload jsonb not null,
  fetched_at timestamptz not null default now(),
  validated_at timestamptz not null default now(),
  primary key (user_id, agent, scope_key)
);

-- agent_calls: one row per logical agent call, for metrics and status -----------------------
create table wisely.agent_calls (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  session_id uuid references wisely.sessions (id) on delete set null,
  agent text not null check (length(agent) between 1 and 32),
  outcome text not null
    check (outcome in ('hit', 'revalidated', 'fetched', 'stale', 'unavailable')),
  status integer check (status is null or status between 100 and 599),
  error_code text check (error_code is null or length(error_code) <= 64),
  attempts integer not null default 0 check (attempts between 0 and 20),
  latency_ms integer not null default 0 check (latency_ms >= 0),
  trace_id text check (trace_id is null or trace_id ~ '^[0-9a-f]{32}$'),
  created_at timestamptz not null default now()
);
create index agent_calls_user_created on wisely.agent_calls (user_id, created_at desc);
create index agent_calls_agent_created on wisely.agent_calls (agent, created_at desc);

-- events: every state change, broadcast on Realtime by a trigger ----------------------------
create table wisely.events (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  type text not null check (type ~ '^[a-z][a-z_]{0,63}$'),
  -- ids, week, day and flags only: never text the user wrote.
  payload jsonb not null default '{}'::jsonb
    check (jsonb_typeof(payload) = 'object' and octet_length(payload::text) <= 4096),
  created_at timestamptz not null default now()
);
create index events_user_created on wisely.events (user_id, created_at desc);

-- rate_limits: per-user token buckets -------------------------------------------------------
create table wisely.rate_limits (
  user_id uuid not null references auth.users (id) on delete cascade,
  bucket text not null check (length(bucket) between 1 and 64),
  tokens double precision not null check (tokens >= 0),
  updated_at timestamptz not null default now(),
  primary key (user_id, bucket)
);

-- idempotency_keys: stored responses of POSTs sent with Idempotency-Key ---------------------
create table wisely.idempotency_keys (
  user_id uuid not null references auth.users (id) on delete cascade,
  key text not null check (length(key) between 1 and 255),
  route text not null check (length(route) between 1 and 64),
  request_hash text not null check (length(request_hash) = 64),
  state text not null default 'in_flight' check (state in ('in_flight', 'done')),
  response_status integer check (response_status is null or response_status between 100 and 599),
  response_body jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '24 hours',
  primary key (user_id, key)
);
create index idempotency_keys_expires on wisely.idempotency_keys (expires_at);

-- Row-level security ------------------------------------------------------------------------
alter table wisely.time_zones enable row level security;
alter table wisely.settings enable row level security;
alter table wisely.agents enable row level security;
alter table wisely.intents enable row level security;
alter table wisely.sessions enable row level security;
alter table wisely.plan_revisions enable row level security;
alter table wisely.completions enable row level security;
alter table wisely.agent_cache enable row level security;
alter table wisely.agent_calls enable row level security;
alter table wisely.events enable row level security;
alter table wisely.rate_limits enable row level security;
alter table wisely.idempotency_keys enable row level security;

revoke all on all tables in schema wisely from public, anon, authenticated;
revoke all on all sequences in schema wisely from public, anon, authenticated;
revoke all on all functions in schema wisely from public, anon;
grant all on all tables in schema wisely to service_role;
grant usage, select on all sequences in schema wisely to service_role;

-- Configuration: signed-in users read it; only the service role changes it.
grant select on wisely.settings, wisely.agents, wisely.time_zones to authenticated;
create policy settings_read on wisely.settings for select to authenticated using (true);
create policy agents_read on wisely.agents for select to authenticated using (true);
create policy time_zones_read on wisely.time_zones for select to authenticated using (true);

-- User data: each user reads and writes only their own rows.
grant select, insert, update, delete on
  wisely.intents, wisely.sessions, wisely.plan_revisions, wisely.completions,
  wisely.agent_cache, wisely.rate_limits, wisely.idempotency_keys
  to authenticated;
-- Logs are append-only for users.
grant select, insert on wisely.agent_calls, wisely.events to authenticated;
grant usage on sequence wisely.agent_calls_id_seq, wisely.events_id_seq to authenticated;

create policy intents_own on wisely.intents for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy sessions_own on wisely.sessions for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy plan_revisions_own on wisely.plan_revisions for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy completions_own on wisely.completions for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy agent_cache_own on wisely.agent_cache for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy rate_limits_own on wisely.rate_limits for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy idempotency_keys_own on wisely.idempotency_keys for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy agent_calls_read_own on wisely.agent_calls for select to authenticated
  using (user_id = (select auth.uid()));
create policy agent_calls_insert_own on wisely.agent_calls for insert to authenticated
  with check (user_id = (select auth.uid()));
create policy events_read_own on wisely.events for select to authenticated
  using (user_id = (select auth.uid()));
create policy events_insert_own on wisely.events for insert to authenticated
  with check (user_id = (select auth.uid()));

