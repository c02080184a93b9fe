-- Wisely Orchestrator: per-user rate limits (spec 9) and Idempotency-Key (spec 5.7).
--
-- Everything here runs as the user, under row-level security. The functions are SECURITY
-- INVOKER: the three entry points the orchestrator calls (begin_request, idempotency_claim,
-- idempotency_finish) first set the request's JWT claims and `role = authenticated`
-- transaction-locally, exactly as asUser's first statement does, so every row they read or
-- write goes through the rate_limits_own / idempotency_keys_own policies as that user. They take
-- the claims as a parameter, so only the function owner (the pool's login role, `postgres`)
-- may call them: a user who could call them could name someone else's claims. take_token,
-- which only ever touches auth.uid()'s own bucket, is callable by `authenticated`.
--
-- SECURITY DEFINER was the alternative (user from auth.uid(), search_path ''), but it would run
-- as the owner, which bypasses RLS; INVOKER keeps the policies as the guard, as for every other
-- user query.

-- Token buckets are rewritten by every user request. Unlogged: no WAL, so a transaction that
-- otherwise only reads (GET status) still commits without waiting for a WAL flush. The price is
-- that a crash (not a clean restart) empties the table, which only hands every user a full
-- burst again; buckets are not replicated to standbys either, and need not be.
alter table wisely.rate_limits set unlogged;

insert into wisely.settings (key, value, description)
values (
  'idempotency.in_flight_timeout_s',
  '600',
  'an Idempotency-Key whose request started this long ago and never finished is abandoned (its '
  'isolate died) and may be claimed again; longer than any request can run (edge functions stop '
  'after 400 s)'
)
on conflict (key) do nothing;

comment on column wisely.idempotency_keys.response_body is
  'The stored response body as a JSON string holding its exact text: jsonb would reorder keys, '
  'and a replay must return the very same bytes.';

-- Sets the request's claims and role for the rest of the transaction, as asUser does, and
-- returns the user. A function's own SET clause (search_path here) is undone when it returns;
-- these two settings are not in it, so they stay (transaction-local) for the caller.
create or replace function wisely.act_as_user(p_claims text) returns uuid
language plpgsql volatile
set search_path = ''
as $$
declare
  v_user uuid;
begin
  perform pg_catalog.set_config('request.jwt.claims', p_claims, true);
  perform pg_catalog.set_config('role', 'authenticated', true);
  v_user := auth.uid();
  if v_user is null then
    raise exception 'the claims name no user' using errcode = '28000';
  end if;
  return v_user;
end;
$$;

-- Takes one token from the caller's bucket `p_bucket`: 0 when taken, else the whole seconds
-- (>= 1) until one is available, and the bucket is left exactly as it was.
--
-- Burst and refill come from wisely.settings 'rate.<bucket>' ({"burst", "refill_per_s"}), read
-- on every call so a change applies at once; p_burst/p_refill_per_s (the built-in defaults of
-- settings.ts) stand in for a missing or malformed row. A bucket starts full.
--
-- One upsert computes the refill and the take against the locked row: concurrent takes on the
-- same bucket queue on the row lock and each sees the previous one's result, so N takes consume
-- exactly N tokens. The time is read after the lock is held (clock_timestamp() in the SET and
-- WHERE), not at statement start, so a take that waited is refilled for the wait.
create or replace function wisely.take_token(
  p_bucket text,
  p_burst double precision,
  p_refill_per_s double precision
) returns integer
language plpgsql volatile
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
  v_rate jsonb;
  v_burst double precision := p_burst;
  v_refill double precision := p_refill_per_s;
  v_tokens double precision;
begin
  if v_user is null then
    raise exception 'take_token needs a user' using errcode = '28000';
  end if;
  select s.value into v_rate from wisely.settings s where s.key = 'rate.' || p_bucket;
  if jsonb_typeof(v_rate -> 'burst') = 'number' and (v_rate ->> 'burst')::double precision > 0
  then
    v_burst := (v_rate ->> 'burst')::double precision;
  end if;
  if jsonb_typeof(v_rate -> 'refill_per_s') = 'number'
    and (v_rate ->> 'refill_per_s')::double precision > 0
  then
    v_refill := (v_rate ->> 'refill_per_s')::double precision;
  end if;
  -- A burst below one token would refuse every request forever.
  v_burst := greatest(v_burst, 1);

  insert into wisely.rate_limits as b (user_id, bucket, tokens, updated_at)
  values (v_user, p_bucket, v_burst - 1, clock_timestamp())
  on conflict (user_id, bucket) do update set
    tokens = greatest(0, least(v_burst, b.tokens + v_refill * greatest(0,
      extract(epoch from clock_timestamp() - b.updated_at)::double precision)) - 1),
    updated_at = greatest(b.updated_at, clock_timestamp())
  where least(v_burst, b.tokens + v_refill * greatest(0,
    extract(epoch from clock_timestamp() - b.updated_at)::double precision)) >= 1;
  if found then
    return 0;
  end if;

  -- Refused: the upsert updated nothing but holds the row's lock; read what it would refill to.
  select least(v_burst, b.tokens + v_refill * greatest(0,
    extract(epoch from clock_timestamp() - b.updated_at)::double precision))
  into v_tokens
  from wisely.rate_limits b
  where b.user_id = v_user and b.bucket = p_bucket;
  return greatest(1, ceil((1 - v_tokens) / v_refill))::integer;
end;
$$;

-- The first statement of a user request's first transaction: the claims and role (as asUser
-- sets them) and the rate-limit take, in one round trip. Returns take_token's answer; on a
-- refusal the caller rolls the transaction back before running anything else.
create or replace function wisely.begin_request(
  p_claims text,
  p_bucket text,
  p_burst double precision,
  p_refill_per_s double precision
) returns integer
language plpgsql volatile
set search_path = ''
as $$
begin
  perform wisely.act_as_user(p_claims);
  return wisely.take_token(p_bucket, p_burst, p_refill_per_s);
end;
$$;

-- Claims Idempotency-Key p_key for a request (one autocommit statement, before the handler's
-- own transactions, so the in-flight row is visible to every isolate at once). In order:
-- 1. the rate-limit take when p_bucket is given: refused -> 'rate_limited' (key untouched);
-- 2. a new key, an expired one (past expires_at) or an abandoned one (in flight for longer
--    than idempotency.in_flight_timeout_s) -> 'claimed': the row is (re)written in flight and
--    `claim` (its created_at as text) fences the later finish against a newer claim;
-- 3. otherwise the existing row decides: another request hash -> 'reused'; still in flight ->
--    'in_use'; done -> 'replay' with the stored status and body text.
-- A claim also deletes a few of the user's expired keys, so the table does not only grow.
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
set search_path = ''
as $$
declare
  v_user uuid := wisely.act_as_user(p_claims);
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

  -- The upsert left the row alone but locked it: it is current.
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

-- Finishes a claimed key: with p_status, stores the response (state 'done'); without, deletes
-- the row so the key is free again (a response that must not be stored). Only the claim that
-- p_claim names is touched: a request that outlived its claim cannot overwrite a newer one.
-- True when the claim was still ours.
create or replace function wisely.idempotency_finish(
  p_claims text,
  p_key text,
  p_claim text,
  p_status integer,
  p_body text
) returns boolean
language plpgsql volatile
set search_path = ''
as $$
declare
  v_user uuid := wisely.act_as_user(p_claims);
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

revoke all on function wisely.act_as_user(text) from public, anon, authenticated, service_role;
revoke all on function wisely.begin_request(text, text, double precision, double precision)
  from public, anon, authenticated, service_role;
revoke all on function wisely.idempotency_claim(
  text, text, text, text, text, double precision, double precision
) from public, anon, authenticated, service_role;
revoke all on function wisely.idempotency_finish(text, text, text, integer, text)
  from public, anon, authenticated, service_role;
revoke all on function wisely.take_token(text, double precision, double precision)
  from public, anon;
grant execute on function wisely.take_token(text, double precision, double precision)
  to authenticated, service_role;
