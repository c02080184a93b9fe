-- Single flight for day.run across isolates (spec 5.4).
--
-- The first request for an (intent, week, day) that needs agents claims it here; concurrent
-- identical requests see the claim and wait for the session instead of calling the agents
-- again. A claim expires (its run crashed or stalled) so it can never block a day for good.

create table wisely.run_claims (
  intent_id uuid not null,
  week integer not null check (week between 1 and 520),
  day integer not null check (day between 1 and 7),
  user_id uuid not null references auth.users (id) on delete cascade,
  claim_id uuid not null default gen_random_uuid(),
  claimed_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (intent_id, week, day),
  foreign key (intent_id, user_id) references wisely.intents (id, user_id) on delete cascade
);
create index run_claims_user on wisely.run_claims (user_id);

alter table wisely.run_claims enable row level security;
revoke all on wisely.run_claims from public, anon;
grant select, insert, update, delete on wisely.run_claims to authenticated;
grant all on wisely.run_claims to service_role;

create policy run_claims_own on wisely.run_claims for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
