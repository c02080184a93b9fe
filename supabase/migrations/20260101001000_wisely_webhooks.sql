-- Webhooks (spec 12): endpoints, their deliveries and every attempt, fed from wisely.events as
-- an outbox.
--
-- Outbox order. Event ids are taken at insert, not at commit, so a cursor over ids alone would
-- skip a row whose transaction commits after a later id's: the standard technique instead
-- stamps every event with its transaction's id (`xid`, xid8, taken at insert) and consumes
-- only rows below the horizon `pg_snapshot_xmin(pg_current_snapshot())`: every transaction
-- below it has ended, so no row can still appear behind the cursor. Rows are consumed in
-- (xid, id) order: one transaction's events together in insert order, transactions in the
-- order they began writing (for one learner's requests, which run one after another, that is
-- commit order). A long-running transaction holds the horizon back and delays delivery,
-- never loses it.
--
-- Delivery itself (HTTP, signing, the URL rules) is TypeScript (_shared/webhooks/): the local
-- stack runs it in a loop (dev/webhook_worker.ts); a hosted project calls
-- `POST webhooks.deliver` from Supabase Cron (wisely.schedule_webhook_delivery() below).
-- Only the service role reads or writes these tables: the signing secrets are in them.

alter table wisely.events
  add column if not exists xid xid8 not null default pg_catalog.pg_current_xact_id();
create index if not exists events_outbox on wisely.events (xid, id);

create table if not exists wisely.webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  url text not null check (length(url) between 8 and 2048),
  -- event types, or '{*}' for all (validated against the API's list by the route).
  events text[] not null check (cardinality(events) between 1 and 64),
  description text check (length(description) <= 500),
  -- `whsec_<base64>`, what signs every delivery; shown to the caller once, at creation.
  secret text not null check (secret like 'whsec_%'),
  created_at timestamptz not null default now(),
  disabled_at timestamptz,
  disabled_reason text check (length(disabled_reason) <= 500),
  -- The outbox cursor: the last event considered. A new endpoint starts at the horizon, so it
  -- gets the events committed after its creation, not the history.
  cursor_xid xid8 not null default pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()),
  cursor_id bigint not null default 0,
  last_success_at timestamptz,
  -- The first failed attempt since the last success: disabling counts from here.
  failing_since timestamptz,
  -- One delivery loop at a time per endpoint (deliveries go out in order, one by one).
  lease_token uuid,
  lease_until timestamptz
);

create table if not exists wisely.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  -- Keyset order of the listing (newest first).
  seq bigint generated always as identity unique,
  endpoint_id uuid not null references wisely.webhook_endpoints (id) on delete cascade,
  event_id bigint not null references wisely.events (id) on delete cascade,
  event_xid xid8 not null,
  -- The Standard Webhooks `webhook-id`: the same on every attempt, so receivers can dedupe.
  webhook_id text not null unique default ('msg_' || replace(gen_random_uuid()::text, '-', '')),
  state text not null default 'pending' check (state in ('pending', 'succeeded', 'failed')),
  attempts integer not null default 0 check (attempts >= 0),
  -- Failed attempts since the delivery was (re)queued: the step of the retry schedule.
  step integer not null default 0 check (step >= 0),
  next_attempt_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (endpoint_id, event_id)
);
-- The head of an endpoint's queue: its earliest pending delivery.
create index if not exists webhook_deliveries_queue
  on wisely.webhook_deliveries (endpoint_id, event_xid, event_id) where state = 'pending';
create index if not exists webhook_deliveries_listing
  on wisely.webhook_deliveries (endpoint_id, seq desc);

create table if not exists wisely.webhook_attempts (
  id bigint generated always as identity primary key,
  delivery_id uuid not null references wisely.webhook_deliveries (id) on delete cascade,
  attempted_at timestamptz not null default now(),
  -- The HTTP status; null when no response came (timeout, refused URL, network error).
  status integer check (status between 100 and 599),
  latency_ms integer not null check (latency_ms >= 0),
  response_excerpt text check (length(response_excerpt) <= 1000),
  error text check (length(error) <= 500)
);
create index if not exists webhook_attempts_delivery on wisely.webhook_attempts (delivery_id, id);

alter table wisely.webhook_endpoints enable row level security;
alter table wisely.webhook_deliveries enable row level security;
alter table wisely.webhook_attempts enable row level security;
-- No policies: only the service role (bypassrls) and the owner reach these rows.
revoke all on wisely.webhook_endpoints, wisely.webhook_deliveries, wisely.webhook_attempts
  from public, anon, authenticated;
revoke all on sequence wisely.webhook_deliveries_seq_seq, wisely.webhook_attempts_id_seq
  from public, anon, authenticated;
grant select, insert, update, delete
  on wisely.webhook_endpoints, wisely.webhook_deliveries, wisely.webhook_attempts
  to service_role;
grant usage, select on sequence wisely.webhook_deliveries_seq_seq, wisely.webhook_attempts_id_seq
  to service_role;

insert into wisely.settings (key, value, description) values
  ('webhook.retry_schedule_s', '[5, 300, 1800, 7200, 18000, 36000]',
    'seconds before each retry of a failed webhook delivery; past the last, the delivery fails'),
  ('webhook.disable_after_s', '259200',
    'an endpoint whose deliveries have failed for this long with no success is disabled'),
  ('webhook.attempt_timeout_ms', '10000', 'one webhook attempt gives up after this long')
on conflict (key) do nothing;

-- Fans committed events out to the deliveries of every enabled endpoint subscribed to their
-- type, at most p_limit events per endpoint per call, in outbox order, and moves each
-- endpoint's cursor past what it considered. Endpoints another call is fanning out are skipped
-- (skip locked), so concurrent callers never insert twice. Returns the deliveries queued.
create or replace function wisely.webhook_enqueue(p_limit integer) returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_horizon xid8 := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
  v_endpoint record;
  v_queued integer := 0;
  v_count integer;
begin
  for v_endpoint in
    select e.id, e.events, e.cursor_xid, e.cursor_id from wisely.webhook_endpoints e
    where e.disabled_at is null
    order by e.created_at, e.id
    for update skip locked
  loop
    with scanned as (
      select ev.id, ev.xid, ev.type from wisely.events ev
      where (ev.xid, ev.id) > (v_endpoint.cursor_xid, v_endpoint.cursor_id)
        and ev.xid < v_horizon
      order by ev.xid, ev.id
      limit p_limit
    ), queued as (
      insert into wisely.webhook_deliveries (endpoint_id, event_id, event_xid)
      select v_endpoint.id, s.id, s.xid from scanned s
      where s.type = any (v_endpoint.events) or '*' = any (v_endpoint.events)
      order by s.xid, s.id
      on conflict (endpoint_id, event_id) do nothing
      returning 1
    ), last_scanned as (
      select s.xid, s.id from scanned s order by s.xid desc, s.id desc limit 1
    )
    update wisely.webhook_endpoints e
    set cursor_xid = l.xid, cursor_id = l.id
    from last_scanned l
    where e.id = v_endpoint.id
    returning (select count(*) from queued)::integer into v_count;
    v_queued := v_queued + coalesce(v_count, 0);
  end loop;
  return v_queued;
end;
$$;
revoke all on function wisely.webhook_enqueue(integer) from public, anon, authenticated;
grant execute on function wisely.webhook_enqueue(integer) to service_role;

-- Wakes the local stack's delivery loop (dev/webhook_worker.ts LISTENs on Postgres). NOTIFY is
-- delivered at commit, and nothing listens on a hosted project, where it costs nothing.
create or replace function wisely.notify_webhooks() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_catalog.pg_notify('wisely_webhooks', '');
  return null;
end;
$$;
revoke all on function wisely.notify_webhooks() from public, anon, authenticated;
drop trigger if exists events_notify_webhooks on wisely.events;
create trigger events_notify_webhooks after insert on wisely.events
  for each statement execute function wisely.notify_webhooks();

-- What the delivery Cron job still needs, one entry each (empty: nothing): the same pieces as
-- the day tick's job (wisely.day_tick_schedule_missing, migration 20260101000700).
create or replace function wisely.webhook_schedule_missing() returns text[]
language sql
stable
security definer
set search_path = ''
as $$
  select wisely.day_tick_schedule_missing()
$$;
revoke all on function wisely.webhook_schedule_missing() from public, anon, authenticated;

-- Optional, for hosted projects: registers `POST webhooks.deliver` (one bounded delivery pass)
-- with Supabase Cron every minute, reading the project URL and key from the Vault secrets the
-- day tick uses; with p_trigger, also a pg_net call after every statement that inserts events,
-- for a first attempt within seconds instead of within the minute. Where pg_cron, pg_net or
-- the secrets are missing (locally) it schedules nothing and says what is missing.
create or replace function wisely.schedule_webhook_delivery(p_trigger boolean default false)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_missing text[] := wisely.webhook_schedule_missing();
begin
  if cardinality(v_missing) > 0 then
    return 'not scheduled: missing ' || array_to_string(v_missing, ', ');
  end if;
  perform cron.schedule('wisely-webhook-delivery', '* * * * *',
    'select wisely.request_webhook_delivery()');
  if p_trigger then
    drop trigger if exists events_deliver_webhooks on wisely.events;
    create trigger events_deliver_webhooks after insert on wisely.events
      for each statement execute function wisely.request_webhook_delivery_trigger();
    return 'scheduled: wisely-webhook-delivery every minute, and after every event insert';
  end if;
  return 'scheduled: wisely-webhook-delivery every minute';
end;
$$;
revoke all on function wisely.schedule_webhook_delivery(boolean) from public, anon, authenticated;

-- pg_net's asynchronous POST to webhooks.deliver (queued, sent after commit by pg_net's
-- worker, so it never delays the inserting transaction). Names in `net` and `vault` are
-- resolved when called, so this exists where pg_net does not and is only called where it does.
create or replace function wisely.request_webhook_delivery() returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform net.http_post(
    url := (select decrypted_secret from vault.decrypted_secrets
            where name = 'wisely_project_url') || '/functions/v1/orchestrator/webhooks.deliver',
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets
                                     where name = 'wisely_service_role_key')),
    body := '{}'::jsonb,
    timeout_milliseconds := 60000
  );
end;
$$;
revoke all on function wisely.request_webhook_delivery() from public, anon, authenticated;

create or replace function wisely.request_webhook_delivery_trigger() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform wisely.request_webhook_delivery();
  return null;
end;
$$;
revoke all on function wisely.request_webhook_delivery_trigger()
  from public, anon, authenticated;
