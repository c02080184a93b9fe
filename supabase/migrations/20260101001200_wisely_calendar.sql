-- Calendar feed (spec 12): one secret, revocable feed URL per learner.
--
-- `calendar_links` keeps only the SHA-256 of the URL's key (32 random bytes, base64url), never
-- the key: a database dump, a backup or a leaked row cannot be turned back into a working URL.
-- One row per user: POST calendar.link replaces the hash (the old URL stops working at once),
-- DELETE calendar.link removes the row.
--
-- The feed itself (`GET calendar.ics?key=…`) comes without an Authorization header, as
-- calendar apps fetch it, so it cannot run under a user's RLS. `wisely.calendar_feed` is the
-- one way in: a security definer function keyed by the hash (one unique-index probe, then the
-- learner's active intent and latest session by their own indexes), callable by the service
-- role only, returning only what the feed shows.

create table if not exists wisely.calendar_links (
  user_id uuid primary key references auth.users (id) on delete cascade,
  key_hash bytea not null unique check (octet_length(key_hash) = 32),
  created_at timestamptz not null default now()
);

alter table wisely.calendar_links enable row level security;

-- A learner manages their own link (the orchestrator does it as the user, under this policy);
-- nobody else's row is visible or writable. The hash is all a row holds, and a user who writes
-- their own row directly only chooses their own key.
drop policy if exists calendar_links_own on wisely.calendar_links;
create policy calendar_links_own on wisely.calendar_links for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

revoke all on wisely.calendar_links from public, anon, authenticated;
grant select, insert, update, delete on wisely.calendar_links to authenticated;
grant all on wisely.calendar_links to service_role;

-- The feed's data for the link whose key hashes to p_key_hash; null for no such link. Without
-- an active intent, `intent` is null (the feed is then an empty calendar). `latest` is the
-- intent's latest session in program order (week, day), as wisely.due_day_runs finds it, with
-- its local creation date, the anchor of the schedule (_shared/calendar/schedule.ts); `today`
-- is p_now's local date in the intent's zone; `paused_until` the last day of the pause covering
-- today (wisely.paused_until, migration 20260101001100), null when not paused. Learner text goes
-- out only as the owner's own feed shows it: the topic and the day's title.
create or replace function wisely.calendar_feed(p_key_hash bytea, p_now timestamptz default now())
returns jsonb
language sql stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'intent', case when i.id is null then null else jsonb_build_object(
      'id', i.id,
      'topic', i.topic,
      'time_per_day_min', i.time_per_day_min,
      'user_tz', i.user_tz,
      'plan_time', left(i.plan_time::text, 5),
      'updated_at', i.updated_at,
      'paused_until', wisely.paused_until(i.id, (p_now at time zone i.user_tz)::date)
    ) end,
    'latest', case when latest.week is null then null else jsonb_build_object(
      'week', latest.week,
      'day', latest.day,
      'local_date', (latest.created_at at time zone i.user_tz)::date,
      'title', latest.title,
      'updated_at', latest.updated_at
    ) end,
    'today', case when i.id is null then null else (p_now at time zone i.user_tz)::date end
  )
  from wisely.calendar_links l
  left join wisely.intents i on i.user_id = l.user_id and i.active
  left join lateral (
    select s.week, s.day, s.created_at, s.updated_at, s.plan_summary ->> 'title' as title
    from wisely.sessions s
    where s.intent_id = i.id
    order by s.week desc, s.day desc
    limit 1
  ) latest on true
  where l.key_hash = p_key_hash
$$;

revoke all on function wisely.calendar_feed(bytea, timestamptz) from public, anon, authenticated;
grant execute on function wisely.calendar_feed(bytea, timestamptz) to service_role;
