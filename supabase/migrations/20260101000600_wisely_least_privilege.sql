-- Least privilege for the role `authenticated` (spec 9).
--
-- A user holding a database session as `authenticated` (what PostgREST or a leaked pooled
-- connection gives them) may write directly only what a learner owns: intents, sessions,
-- plan_revisions, completions. The bookkeeping others rely on is read-only for them and written
-- only through the SECURITY DEFINER functions below, which take only what a caller may choose
-- and fix the rest: `user_id = auth.uid()`, `now()`, known payload keys, rows the caller owns.
-- - events: wisely.record_event (known types, exactly their keys, ids of the caller's rows);
--   the broadcast applies the row's real fields last, so no payload key can override them.
-- - agent_calls: wisely.record_agent_calls (the caller's session, known agents, now()).
-- - agent_cache: wisely.store_agent_cache (the caller's intents' scope keys, now()).
-- - run_claims: wisely.claim_run / wisely.release_run (expiry from the settings, never chosen).
-- - rate_limits and idempotency_keys: written only by functions the pool's own role may call
--   (begin_request, idempotency_claim, idempotency_finish); `authenticated` has none.
-- Also: `request.jwt.claim.sub` set transaction-locally beside `request.jwt.claims` (auth.uid()
-- reads it first), and a restrictive policy that keeps `wisely.events:<user_id>` on Realtime to
-- its user whatever permissive policies a project adds.
--
-- Every definer function is owned by the migrating role (which owns the tables, so RLS does not
-- apply to it), has `search_path = ''` and fully qualified names, and is revoked from public.
-- Re-runnable: create or replace, drop ... if exists, and idempotent grants.

-- Claims -------------------------------------------------------------------------------------

-- Sets the request's claims for the rest of the transaction: `request.jwt.claims` and
-- `request.jwt.claim.sub` (which auth.uid() reads first: without it, a value another client
-- left at session level on a shared pooled backend would win). Returns the user. Unlike
-- act_as_user it leaves the role alone, so SECURITY DEFINER functions may call it.
create or replace function wisely.set_request_claims(p_claims text) returns uuid
language plpgsql volatile
set search_path = ''
as $$
declare
  v_user uuid;
begin
  perform pg_catalog.set_config('request.jwt.claims', p_claims, true);
  perform pg_catalog.set_config(
    'request.jwt.claim.sub', coalesce(p_claims::jsonb ->> 'sub', ''), true
  );
  v_user := auth.uid();
  if v_user is null then
    raise exception 'the claims name no user' using errcode = '28000';
  end if;
  return v_user;
end;
$$;

create or replace function wisely.act_as_user(p_claims text) returns uuid
language plpgsql volatile
set search_path = ''
as $$
declare
  v_user uuid := wisely.set_request_claims(p_claims);
begin
  perform pg_catalog.set_config('role', 'authenticated', true);
  return v_user;
end;
$$;

-- Rate limits --------------------------------------------------------------------------------

-- take_token (migration 20260101000400) runs as its owner from now on, and only the pool's role
-- calls it: users cannot take (or name buckets) themselves.
alter function wisely.take_token(text, double precision, double precision) security definer;

-- The token is taken before the role changes to `authenticated`, by the pool's role, which
-- alone may execute take_token.
create or replace function wisely.begin_request(
  p_claims text,
  p_bucket text,
  p_burst double precision,
  p_refill_per_s double precision
) returns integer
language plpgsql volatile
set search_path = ''
as $$
declare
  v_wait integer;
begin
  perform wisely.set_request_claims(p_claims);
  v_wait := wisely.take_token(p_bucket, p_burst, p_refill_per_s);
  perform pg_catalog.set_config('role', 'authenticated', true);
  return v_wait;
end;
$$;

-- Idempotency keys ---------------------------------------------------------------------------

-- As in migration 20260101000400, but SECURITY DEFINER with the user from the claims: every
-- statement names `user_id = v_user` itself instead of relying on the role's RLS, since
-- `authenticated` no longer writes the table. Still callable only by the pool's role.
create or replace function wisely.idempotency_claim(
  p_claims text,
  p_key text,
  p_route text,
  p_hash text,
  p_bucket text,
  p_burst double precision,
  p_refill_per_s double precision
) returns table (
  outcome text,
  retry_after_s integer,
  stored_status integer,
  stored_body text,
  claim text
)
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := wisely.set_request_claims(p_claims);
  v_now timestamptz := clock_timestamp();
  v_timeout_value jsonb;
  v_timeout interval := interval '600 seconds';
  v_wait integer;
  v_claimed timestamptz;
  v_row wisely.idempotency_keys%rowtype;
begin
  if p_bucket is not null then
    v_wait := wisely.take_token(p_bucket, p_burst, p_refill_per_s);
    if v_wait > 0 then
      return query select 'rate_limited', v_wait, null::integer, null::text, null::text;
      return;
    end if;
  end if;

  select s.value into v_timeout_value
  from wisely.settings s where s.key = 'idempotency.in_flight_timeout_s';
  if jsonb_typeof(v_timeout_value) = 'number' and (v_timeout_value #>> '{}')::numeric > 0 then
    v_timeout := make_interval(secs => (v_timeout_value #>> '{}')::double precision);
  end if;

  insert into wisely.idempotency_keys as k
    (user_id, key, route, request_hash, state, created_at, expires_at)
  values (v_user, p_key, p_route, p_hash, 'in_flight', v_now, v_now + interval '24 hours')
  on conflict (user_id, key) do update set
    route = excluded.route,
    request_hash = excluded.request_hash,
    state = 'in_flight',
    response_status = null,
    response_body = null,
    created_at = excluded.created_at,
    expires_at = excluded.expires_at
  where k.expires_at <= v_now or (k.state = 'in_flight' and k.created_at <= v_now - v_timeout)
  returning k.created_at into v_claimed;

  if v_claimed is not null then
    delete from wisely.idempotency_keys k
    where k.user_id = v_user and k.key <> p_key and k.ctid = any (array(
      select e.ctid from wisely.idempotency_keys e
      where e.user_id = v_user and e.expires_at <= v_now
      limit 16
    ));
    return query select 'claimed', 0, null::integer, null::text, v_claimed::text;
    return;
  end if;

  select * into v_row from wisely.idempotency_keys k where k.user_id = v_user and k.key = p_key;
  if v_row.request_hash <> p_hash then
    return query select 'reused', 0, null::integer, null::text, null::text;
  elsif v_row.state = 'in_flight' then
    return query select 'in_use', 0, null::integer, null::text, null::text;
  else
    return query select 'replay', 0, v_row.response_status, v_row.response_body #>> '{}',
      null::text;
  end if;
end;
$$;

create or replace function wisely.idempotency_finish(
  p_claims text,
  p_key text,
  p_claim text,
  p_status integer,
  p_body text
) returns boolean
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := wisely.set_request_claims(p_claims);
begin
  if p_status is null then
    delete from wisely.idempotency_keys k
    where k.user_id = v_user and k.key = p_key and k.state = 'in_flight'
      and k.created_at = p_claim::timestamptz;
  else
    update wisely.idempotency_keys k
    set state = 'done', response_status = p_status, response_body = to_jsonb(p_body)
    where k.user_id = v_user and k.key = p_key and k.state = 'in_flight'
      and k.created_at = p_claim::timestamptz;
  end if;
  return found;
end;
$$;

-- Events -------------------------------------------------------------------------------------

-- The payload of each event type: its keys (exactly these) and what each holds. Mirrors
-- EventPayloads in supabase/functions/_shared/events.ts. Kinds: uuid, uuid? (or null), flag
-- (boolean), week (1..520), day (1..7), count (>= 0), revision (>= 1). Null: unknown type.
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
--   after it as next_week/next_day.
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

-- The broadcast of migration 20260101000100, with the row's real fields applied last: a payload
-- key named event_id, type, user_id or created_at (possible in a row the service role wrote)
-- cannot override them.
create or replace function wisely.broadcast_event() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  message jsonb := new.payload || jsonb_build_object(
    'event_id', new.id,
    'type', new.type,
    'user_id', new.user_id,
    'created_at', new.created_at
  );
begin
  perform realtime.send(message, new.type, 'wisely.events', true);
  perform realtime.send(message, new.type, 'wisely.events:' || new.user_id::text, true);
  return null;
end;
$$;
revoke all on function wisely.broadcast_event() from public, anon, authenticated;

-- Agent calls --------------------------------------------------------------------------------

-- Logs a run's agent calls for the caller's session p_session_id: `user_id = auth.uid()`,
-- `created_at = now()`. p_calls is a JSON array of {agent, outcome, status, error_code,
-- attempts, latency_ms}, at most one per known agent (a run calls each agent once), with a
-- latency no longer than an edge function may run (400 s). Returns the rows written.
create or replace function wisely.record_agent_calls(
  p_session_id uuid,
  p_calls jsonb,
  p_trace_id text
) returns integer
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
  v_count integer;
begin
  if v_user is null then
    raise exception 'record_agent_calls needs a user' using errcode = '28000';
  end if;
  if not exists (
    select 1 from wisely.sessions s where s.id = p_session_id and s.user_id = v_user
  ) then
    raise exception 'agent calls may only be logged for the caller''s own session'
      using errcode = '42501';
  end if;
  if jsonb_typeof(p_calls) is distinct from 'array' then
    raise exception 'p_calls must be a JSON array' using errcode = '22023';
  end if;
  if exists (
    select 1
    from jsonb_array_elements(p_calls) e (call)
    where jsonb_typeof(e.call) <> 'object'
      or not exists (select 1 from wisely.agents a where a.name = e.call ->> 'agent')
  ) or (
    select count(*) <> count(distinct e.call ->> 'agent')
    from jsonb_array_elements(p_calls) e (call)
  ) then
    raise exception 'p_calls must hold at most one call per known agent' using errcode = '22023';
  end if;
  if exists (
    select 1 from jsonb_to_recordset(p_calls) as c (latency_ms integer)
    where c.latency_ms > 400000
  ) then
    raise exception 'an agent call cannot last longer than 400 s' using errcode = '22023';
  end if;

  insert into wisely.agent_calls (user_id, session_id, agent, outcome, status, error_code,
    attempts, latency_ms, trace_id, created_at)
  select v_user, p_session_id, c.agent, c.outcome, c.status, c.error_code,
    coalesce(c.attempts, 0), coalesce(c.latency_ms, 0), p_trace_id, pg_catalog.now()
  from jsonb_to_recordset(p_calls) as c (agent text, outcome text, status integer,
    error_code text, attempts integer, latency_ms integer);
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;

-- Agent cache --------------------------------------------------------------------------------

-- The intent a cache scope key belongs to ('intent:<id>', 'intent:<id>:w<week>',
-- 'intent:<id>:w<week>:d<day>', see _shared/agents/scope.ts); null for any other key.
create or replace function wisely.scope_key_intent(p_scope_key text) returns uuid
language plpgsql immutable parallel safe
set search_path = ''
as $$
begin
  return substring(
    p_scope_key
    from '^intent:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'
      || '(?::w[1-9][0-9]{0,2}(?::d[1-7])?)?$'
  )::uuid;
end;
$$;

-- Persists a fan-out's cache writes for the caller: p_stores [{agent, scope_key, etag,
-- payload}] upserted with `fetched_at = validated_at = now()`; p_revalidations [{agent,
-- scope_key, etag}] mark the caller's existing rows validated now (keeping the ETag when none
-- is given). Every scope key must be one of the caller's intents' keys.
create or replace function wisely.store_agent_cache(p_stores jsonb, p_revalidations jsonb)
returns void
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
begin
  if v_user is null then
    raise exception 'store_agent_cache needs a user' using errcode = '28000';
  end if;
  if jsonb_typeof(p_stores) is distinct from 'array'
    or jsonb_typeof(p_revalidations) is distinct from 'array'
  then
    raise exception 'p_stores and p_revalidations must be JSON arrays' using errcode = '22023';
  end if;
  if exists (
    select 1
    from (
      select w.scope_key from jsonb_to_recordset(p_stores) as w (scope_key text)
      union all
      select w.scope_key from jsonb_to_recordset(p_revalidations) as w (scope_key text)
    ) w
    where not exists (
      select 1 from wisely.intents i
      where i.id = wisely.scope_key_intent(w.scope_key) and i.user_id = v_user
    )
  ) then
    raise exception 'cache entries may only be written under the caller''s own intents'
      using errcode = '42501';
  end if;

  insert into wisely.agent_cache as c
    (user_id, agent, scope_key, etag, payload, fetched_at, validated_at)
  select v_user, w.agent, w.scope_key, w.etag, w.payload, pg_catalog.now(), pg_catalog.now()
  from jsonb_to_recordset(p_stores) as w (agent text, scope_key text, etag text, payload jsonb)
  on conflict (user_id, agent, scope_key) do update set
    etag = excluded.etag, payload = excluded.payload,
    fetched_at = excluded.fetched_at, validated_at = excluded.validated_at;

  update wisely.agent_cache c set validated_at = pg_catalog.now(), etag = coalesce(w.etag, c.etag)
  from jsonb_to_recordset(p_revalidations) as w (agent text, scope_key text, etag text)
  where c.user_id = v_user and c.agent = w.agent and c.scope_key = w.scope_key;
end;
$$;

-- Run claims ---------------------------------------------------------------------------------

-- Claims (intent, week, day) of the caller's intent for one day.run (single flight, migration
-- 20260101000300). The claim lasts the run's deadline (`run.deadline_ms`, or
-- `run.research_deadline_ms` with p_research; bounded and defaulted as _shared/settings.ts
-- reads them) plus 5 s to store the result: a caller cannot make it last longer. Returns one
-- row: the new claim_id and its expiry, or a null claim_id and the expiry of the live claim
-- that holds the day. Another user's intent is 42501.
create or replace function wisely.claim_run(
  p_intent_id uuid,
  p_week integer,
  p_day integer,
  p_research boolean
) returns table (claim_id uuid, expires_at timestamptz)
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
  v_key text := case when p_research then 'run.research_deadline_ms' else 'run.deadline_ms' end;
  v_max numeric := case when p_research then 300000 else 120000 end;
  v_deadline_ms numeric;
  v_expires timestamptz;
begin
  if v_user is null then
    raise exception 'claim_run needs a user' using errcode = '28000';
  end if;
  if not exists (
    select 1 from wisely.intents i where i.id = p_intent_id and i.user_id = v_user
  ) then
    raise exception 'only the caller''s own intent can be claimed' using errcode = '42501';
  end if;
  -- Nested CASE: the cast must only run on a JSON number.
  select case when jsonb_typeof(s.value) = 'number' then
      case when (s.value)::numeric between 1 and v_max
        and (s.value)::numeric = trunc((s.value)::numeric) then (s.value)::numeric end
    end
  into v_deadline_ms
  from wisely.settings s where s.key = v_key;
  v_deadline_ms := coalesce(v_deadline_ms, case when p_research then 30000 else 12000 end);
  v_expires := pg_catalog.now() + make_interval(secs => (v_deadline_ms + 5000) / 1000.0);

  return query
  with taken as (
    insert into wisely.run_claims as c (intent_id, week, day, user_id, expires_at)
    values (p_intent_id, p_week, p_day, v_user, v_expires)
    on conflict (intent_id, week, day) do update set
      claim_id = gen_random_uuid(), claimed_at = pg_catalog.now(),
      expires_at = excluded.expires_at
      where c.expires_at < pg_catalog.now() and c.user_id = v_user
    returning c.claim_id, c.expires_at
  )
  select t.claim_id, t.expires_at from taken t
  union all
  select null::uuid, c.expires_at from wisely.run_claims c
  where c.intent_id = p_intent_id and c.week = p_week and c.day = p_day and c.user_id = v_user
    and not exists (select 1 from taken);
end;
$$;

-- Releases the caller's claim p_claim_id on (intent, week, day). True when it was still held.
create or replace function wisely.release_run(
  p_intent_id uuid,
  p_week integer,
  p_day integer,
  p_claim_id uuid
) returns boolean
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
begin
  if v_user is null then
    raise exception 'release_run needs a user' using errcode = '28000';
  end if;
  delete from wisely.run_claims c
  where c.intent_id = p_intent_id and c.week = p_week and c.day = p_day
    and c.claim_id = p_claim_id and c.user_id = v_user;
  return found;
end;
$$;

-- Grants -------------------------------------------------------------------------------------

-- Bookkeeping is read-only for users: their own rows, through the read policies below.
revoke insert, update, delete, truncate, references, trigger on
  wisely.events, wisely.agent_calls, wisely.agent_cache, wisely.rate_limits,
  wisely.idempotency_keys, wisely.run_claims
from public, anon, authenticated;
revoke all on sequence wisely.agent_calls_id_seq, wisely.events_id_seq
  from public, anon, authenticated;
grant select on
  wisely.events, wisely.agent_calls, wisely.agent_cache, wisely.rate_limits,
  wisely.idempotency_keys, wisely.run_claims
to authenticated;

-- The policies that let users write these tables go too (defence in depth: a grant added later
-- by mistake still finds no policy to write through); reading stays as it was.
drop policy if exists agent_cache_own on wisely.agent_cache;
drop policy if exists rate_limits_own on wisely.rate_limits;
drop policy if exists idempotency_keys_own on wisely.idempotency_keys;
drop policy if exists run_claims_own on wisely.run_claims;
drop policy if exists agent_calls_insert_own on wisely.agent_calls;
drop policy if exists events_insert_own on wisely.events;
drop policy if exists agent_cache_read_own on wisely.agent_cache;
drop policy if exists rate_limits_read_own on wisely.rate_limits;
drop policy if exists idempotency_keys_read_own on wisely.idempotency_keys;
drop policy if exists run_claims_read_own on wisely.run_claims;
create policy agent_cache_read_own on wisely.agent_cache for select to authenticated
  using (user_id = (select auth.uid()));
create policy rate_limits_read_own on wisely.rate_limits for select to authenticated
  using (user_id = (select auth.uid()));
create policy idempotency_keys_read_own on wisely.idempotency_keys for select to authenticated
  using (user_id = (select auth.uid()));
create policy run_claims_read_own on wisely.run_claims for select to authenticated
  using (user_id = (select auth.uid()));

-- Functions only the pool's role (the owner) may call: they take claims, or run before the role
-- is the user's.
revoke all on function wisely.set_request_claims(text)
  from public, anon, authenticated, service_role;
revoke all on function wisely.act_as_user(text) from public, anon, authenticated, service_role;
revoke all on function wisely.take_token(text, double precision, double precision)
  from public, anon, authenticated, service_role;
revoke all on function wisely.begin_request(text, text, double precision, double precision)
  from public, anon, authenticated, service_role;
revoke all on function wisely.idempotency_claim(
  text, text, text, text, text, double precision, double precision
) from public, anon, authenticated, service_role;
revoke all on function wisely.idempotency_finish(text, text, text, integer, text)
  from public, anon, authenticated, service_role;

-- The writers a user transaction calls.
revoke all on function
  wisely.event_payload_spec(text),
  wisely.record_event(text, jsonb),
  wisely.record_agent_calls(uuid, jsonb, text),
  wisely.scope_key_intent(text),
  wisely.store_agent_cache(jsonb, jsonb),
  wisely.claim_run(uuid, integer, integer, boolean),
  wisely.release_run(uuid, integer, integer, uuid)
from public, anon;
grant execute on function
  wisely.event_payload_spec(text),
  wisely.record_event(text, jsonb),
  wisely.record_agent_calls(uuid, jsonb, text),
  wisely.scope_key_intent(text),
  wisely.store_agent_cache(jsonb, jsonb),
  wisely.claim_run(uuid, integer, integer, boolean),
  wisely.release_run(uuid, integer, integer, uuid)
to authenticated, service_role;

-- Realtime -----------------------------------------------------------------------------------

-- Restrictive: ANDed with every permissive policy, whoever adds them. In the `wisely.events`
-- namespace a row, and a channel being joined (realtime.topic(), which Realtime sets when it
-- checks a join or a send), may only be the caller's own topic `wisely.events:<auth.uid()>`;
-- the shared `wisely.events` is for the service role (which bypasses RLS), and so is every
-- other user's topic. Rows and channels outside the namespace are left to the other policies.
drop policy if exists wisely_events_topic_guard on realtime.messages;
create policy wisely_events_topic_guard on realtime.messages
  as restrictive
  for all
  to public
  using (
    (not starts_with(topic, 'wisely.events')
      or topic = 'wisely.events:' || (select auth.uid())::text)
    and (not starts_with(coalesce((select realtime.topic()), ''), 'wisely.events')
      or (select realtime.topic()) = 'wisely.events:' || (select auth.uid())::text)
  )
  with check (
    (not starts_with(topic, 'wisely.events')
      or topic = 'wisely.events:' || (select auth.uid())::text)
    and (not starts_with(coalesce((select realtime.topic()), ''), 'wisely.events')
      or (select realtime.topic()) = 'wisely.events:' || (select auth.uid())::text)
  );
