-- Supabase platform bootstrap for the local stack.
--
-- Recreates, idempotently, the parts of a Supabase database that exist before any user
-- migration runs: the API roles, the `auth` helpers that read PostgREST-style claims, the
-- `realtime` broadcast table and `realtime.send`, and the `extensions` schema. Definitions
-- follow supabase/postgres init scripts, supabase/auth and supabase/realtime migrations.
-- Never applied to a hosted project: it only stands in for what Supabase already has.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
-- The connecting role (postgres on Supabase) switches to these per request.
do $$
begin
  execute format('grant anon, authenticated, service_role to %I', current_user);
end
$$;

-- Role settings are cluster-wide: write them only when they differ, so concurrent bootstraps
-- of several databases in one cluster do not collide on pg_db_role_setting.
do $$
declare
  wanted record;
begin
  for wanted in select * from (values ('anon', '3s'), ('authenticated', '8s')) as t (role, timeout)
  loop
    if not exists (
      select 1 from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
      where r.rolname = wanted.role and s.setdatabase = 0
        and ('statement_timeout=' || wanted.timeout) = any (s.setconfig)
    ) then
      execute format('alter role %I set statement_timeout = %L', wanted.role, wanted.timeout);
    end if;
  end loop;
end
$$;

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

-- auth ---------------------------------------------------------------------------------------
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);

create or replace function auth.uid() returns uuid
language sql stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;

-- What the local Auth (dev/auth) keeps, named and typed as Supabase Auth's migrations leave it
-- (supabase/auth migrations/). `add column if not exists`: a persistent database bootstrapped
-- before these columns existed gains them and keeps its rows.
alter table auth.users
  add column if not exists instance_id uuid,
  add column if not exists encrypted_password varchar(255),
  add column if not exists email_confirmed_at timestamptz,
  add column if not exists invited_at timestamptz,
  add column if not exists confirmation_token varchar(255),
  add column if not exists confirmation_sent_at timestamptz,
  add column if not exists recovery_token varchar(255),
  add column if not exists recovery_sent_at timestamptz,
  add column if not exists email_change_token_new varchar(255),
  add column if not exists email_change varchar(255),
  add column if not exists email_change_sent_at timestamptz,
  add column if not exists last_sign_in_at timestamptz,
  add column if not exists is_super_admin boolean,
  add column if not exists phone text default null,
  add column if not exists phone_confirmed_at timestamptz,
  add column if not exists phone_change text default '',
  add column if not exists phone_change_token varchar(255) default '',
  add column if not exists phone_change_sent_at timestamptz,
  add column if not exists email_change_token_current varchar(255) default '',
  add column if not exists email_change_confirm_status smallint default 0,
  add column if not exists banned_until timestamptz,
  add column if not exists reauthentication_token varchar(255) default '',
  add column if not exists reauthentication_sent_at timestamptz,
  add column if not exists is_sso_user boolean not null default false,
  add column if not exists deleted_at timestamptz,
  add column if not exists is_anonymous boolean not null default false;
-- Its own statement: the expression names columns the statement above adds.
alter table auth.users add column if not exists confirmed_at timestamptz
  generated always as (least(email_confirmed_at, phone_confirmed_at)) stored;

create unique index if not exists users_phone_key on auth.users (phone);
create index if not exists users_email_lower_idx on auth.users (lower(email::text));
create index if not exists users_is_anonymous_idx on auth.users (is_anonymous);
-- One account per address (Supabase Auth's users_email_partial_key). Skipped, not failed, on a
-- database whose existing rows already share an address, so the bootstrap always re-applies.
do $$
begin
  if to_regclass('auth.users_email_partial_key') is null and not exists (
    select 1 from auth.users where email is not null and not is_sso_user
    group by email having count(*) > 1
  ) then
    create unique index users_email_partial_key on auth.users (email) where (is_sso_user = false);
  end if;
end
$$;

create table if not exists auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default gen_random_uuid() primary key,
  constraint identities_provider_id_provider_unique unique (provider_id, provider)
);
create index if not exists identities_user_id_idx on auth.identities (user_id);
create index if not exists identities_email_idx on auth.identities (email text_pattern_ops);

do $$
begin
  if to_regtype('auth.aal_level') is null then
    create type auth.aal_level as enum ('aal1', 'aal2', 'aal3');
  end if;
end
$$;

create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  factor_id uuid,
  aal auth.aal_level,
  not_after timestamptz,
  refreshed_at timestamp without time zone,
  user_agent text,
  ip inet,
  tag text
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);
create index if not exists user_id_created_at_idx on auth.sessions (user_id, created_at);
create index if not exists sessions_not_after_idx on auth.sessions (not_after desc);

-- user_id is text without a foreign key, as in Supabase Auth: a token goes with its session.
create table if not exists auth.refresh_tokens (
  instance_id uuid,
  id bigserial primary key,
  token varchar(255) constraint refresh_tokens_token_unique unique,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);
create index if not exists refresh_tokens_parent_idx on auth.refresh_tokens (parent);
create index if not exists refresh_tokens_session_id_revoked_idx
  on auth.refresh_tokens (session_id, revoked);
create index if not exists refresh_tokens_instance_id_user_id_idx
  on auth.refresh_tokens (instance_id, user_id);

create table if not exists auth.mfa_amr_claims (
  session_id uuid not null references auth.sessions (id) on delete cascade,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  authentication_method text not null,
  id uuid not null constraint amr_id_pk primary key,
  constraint mfa_amr_claims_session_id_authentication_method_pkey
    unique (session_id, authentication_method)
);

-- The local Auth's ES256 signing key (dev/auth/signing_key.ts), kept with the data so tokens
-- survive restarts. Local only: a hosted project's keys never live in its database. No API role
-- may read it.
create schema if not exists local_auth;
revoke all on schema local_auth from public;
create table if not exists local_auth.signing_keys (
  kid text primary key,
  algorithm text not null default 'ES256',
  private_jwk jsonb not null,
  created_at timestamptz not null default now()
);

-- realtime -----------------------------------------------------------------------------------
create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;

-- A plain table: on Supabase it is partitioned by inserted_at, the partitions made by the
-- Realtime server, which this stack does not run.
create table if not exists realtime.messages (
  id uuid not null default gen_random_uuid(),
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now(),
  primary key (id, inserted_at)
);
alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to anon, authenticated;
grant all on realtime.messages to service_role;

create or replace function realtime.topic() returns text
language sql stable
as $$
  select nullif(current_setting('realtime.topic', true), '')::text
$$;
grant execute on function realtime.topic() to anon, authenticated, service_role;

create or replace function realtime.send(
  payload jsonb,
  event text,
  topic text,
  private boolean default true
) returns void
language plpgsql
as $$
declare
  generated_id uuid;
  final_payload jsonb;
begin
  begin
    generated_id := gen_random_uuid();
    if payload ? 'id' then
      final_payload := payload;
    else
      final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
    end if;
    perform set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id, final_payload, event, topic, private, 'broadcast');
  exception
    when others then
      raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
  end;
end;
$$;
grant execute on function realtime.send(jsonb, text, text, boolean)
  to anon, authenticated, service_role;

-- Local delivery (dev/realtime): Supabase Realtime reads new realtime.messages rows from the
-- WAL; the local stack is told of them instead. Not part of a Supabase database.
-- `local_seq` numbers rows in insert order: on PGlite (one backend, transactions serialized)
-- that is commit order, and the server polls for rows past the last one it saw.
create sequence if not exists realtime.local_message_seq;
alter table realtime.messages add column if not exists local_seq bigint;
alter table realtime.messages
  alter column local_seq set default nextval('realtime.local_message_seq');
create index if not exists messages_local_seq_idx on realtime.messages (local_seq);
grant usage on sequence realtime.local_message_seq to anon, authenticated, service_role;

-- On Postgres the server LISTENs: NOTIFY is delivered after commit, in commit order. A row too
-- large for pg_notify's 8000-byte payload is announced by id and fetched, so no insert fails.
create or replace function realtime.local_notify_message() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  message text := json_build_object(
    'id', new.id, 'topic', new.topic, 'event', new.event, 'private', new.private,
    'payload', new.payload
  )::text;
begin
  if octet_length(message) > 7900 then
    message := json_build_object('id', new.id, 'inserted_at', new.inserted_at)::text;
  end if;
  perform pg_notify('realtime_local_messages', message);
  return null;
end;
$$;

create or replace trigger local_notify_message
  after insert on realtime.messages
  for each row when (new.extension = 'broadcast')
  execute function realtime.local_notify_message();

-- Supabase CLI's migration history table, so `supabase db push` and the local migrator agree.
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text primary key,
  statements text[],
  name text
);
