-- The daily tick (spec 8): which runs are due, and its Supabase Cron registration.

-- Due runs, oldest slot first, at most p_limit:
-- - `next`: an active intent's next day (after its latest session in program order; week 1
--   day 1 without one), once the intent's plan_time has passed in its zone on the local date
--   after the latest session's, and the latest session is completed or a day old.
-- - `retry`: a degraded session of the last day whose unavailable agents have each answered
--   successfully (to anyone) since the session was written, so a rerun can do better.
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
      select s.week, s.day, s.created_at,
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
        or latest.created_at <= p_now - interval '1 day')
    order by slot.at
    limit p_limit
  )
  union all
  (
    select s.user_id, s.intent_id, s.week, s.day, 'retry', s.updated_at
    from wisely.sessions s
    join wisely.intents i on i.id = s.intent_id and i.active
    where s.degraded_mode
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
    order by s.updated_at
    limit p_limit
  )
$$;
revoke all on function wisely.due_day_runs(timestamptz, integer) from public, anon, authenticated;
grant execute on function wisely.due_day_runs(timestamptz, integer) to service_role;

-- Registers the tick with Supabase Cron every 10 minutes where pg_cron and pg_net are enabled;
-- elsewhere it does nothing and says so. Call it again after enabling them. The job reads the
-- project URL and a service-role key from Supabase Vault secrets `wisely_project_url` and
-- `wisely_service_role_key`.
create or replace function wisely.schedule_day_tick() returns text
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron')
    or not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_net') then
    return 'not scheduled: pg_cron and pg_net are not both enabled';
  end if;
  perform cron.schedule('wisely-day-tick', '*/10 * * * *', $job$
    select net.http_post(
      url := (select decrypted_secret from vault.decrypted_secrets
              where name = 'wisely_project_url') || '/functions/v1/orchestrator/day.tick',
      headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets
                                       where name = 'wisely_service_role_key')),
      body := '{}'::jsonb,
      timeout_milliseconds := 60000
    )
  $job$);
  return 'scheduled: wisely-day-tick every 10 minutes';
end;
$$;
revoke all on function wisely.schedule_day_tick() from public, anon, authenticated;

select wisely.schedule_day_tick();
