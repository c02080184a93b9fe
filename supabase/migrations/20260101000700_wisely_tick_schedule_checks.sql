-- day.tick's schedule says what it lacks (spec 8, issue 8), and the tick's time tunables.
--
-- wisely.schedule_day_tick() (20260101000500) registered the Cron job as soon as pg_cron and
-- pg_net existed, even when the Vault secrets the job reads were missing: the job then posted
-- to a null URL every 10 minutes and nobody was told. Now it registers the job only when
-- everything the job needs exists, and otherwise names each missing piece. Where pg_cron is
-- absent (local PGlite, a plain Postgres) it is still a no-op that says so.

insert into wisely.settings (key, value, description) values
  ('tick.answer_within_ms', '3000',
    'day.tick answers 200 when its batch ends within this long, else 202 and finishes it after'),
  ('tick.time_budget_ms', '100000',
    'no day.tick run starts after this long, so a batch ends inside the 150 s wall clock')
on conflict (key) do nothing;

-- What the Cron job still needs, one entry each (empty: nothing). The Vault view is looked up
-- by name first, so a database without Supabase Vault gets an answer instead of an error.
create or replace function wisely.day_tick_schedule_missing() returns text[]
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_missing text[] := '{}';
  v_name text;
  v_value text;
begin
  if not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') then
    v_missing := v_missing || 'the pg_cron extension'::text;
  end if;
  if not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_net') then
    v_missing := v_missing || 'the pg_net extension'::text;
  end if;
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    return v_missing || 'Supabase Vault (vault.decrypted_secrets)'::text;
  end if;
  foreach v_name in array array['wisely_project_url', 'wisely_service_role_key'] loop
    select s.decrypted_secret into v_value
    from vault.decrypted_secrets s
    where s.name = v_name
    limit 1;
    if coalesce(pg_catalog.btrim(v_value), '') = '' then
      v_missing := v_missing || format('the Vault secret %s', v_name);
    elsif v_name = 'wisely_project_url' and v_value !~* '^https?://[^/]' then
      v_missing := v_missing
        || 'a project URL (https://<ref>.supabase.co) in wisely_project_url'::text;
    end if;
  end loop;
  return v_missing;
end;
$$;
revoke all on function wisely.day_tick_schedule_missing() from public, anon, authenticated;

-- Registers the tick with Supabase Cron every 10 minutes, or says what is missing. The job is
-- the same as before: pg_net posts `{}` to the project's day.tick with the key from Vault.
create or replace function wisely.schedule_day_tick() returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_missing text[] := wisely.day_tick_schedule_missing();
  v_message text;
begin
  if cardinality(v_missing) > 0 then
    v_message := 'not scheduled: missing ' || array_to_string(v_missing, ', ');
    if exists (select 1 from unnest(v_missing) m where m like 'the Vault secret %') then
      v_message := v_message || '. Create secrets with select vault.create_secret(''<value>'', '
        || '''<name>''); then run select wisely.schedule_day_tick();';
    end if;
    raise notice '%', v_message;
    return v_message;
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
