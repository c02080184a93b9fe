-- The first step of a day run in one statement (issue 11; supabase/functions/orchestrator/
-- run_day/claim.ts). It took two transactions, each a round trip: one read the intent and the
-- day's session, and only then could the second claim the day and read what a run needs
-- (agents, settings, history, cache, learner model) as seven statements, each parsed and
-- planned on every run and each answered in a packet of its own. wisely.claim_day does the
-- first look, the claim and the reads as one PL/pgSQL call, whose plans are kept for the
-- session, so the claim costs one round trip with its COMMIT.
--
-- For p_user's active intent (no row when there is none): when the day's session exists and is
-- reusable (not stale, no p_force_refresh) it is marked opened (p_opens, the learner is shown
-- it) and `kind` is 'existing'; otherwise the day is claimed (wisely.claim_run), and `kind` is
-- 'run' with the new claim, or 'busy' with a null claim_id and the expiry of the claim that holds
-- the day, both with everything a run (or a provisional answer) reads. The caller reads the
-- session with wisely.day_session in a statement after this one, whose snapshot also sees a run
-- that finished after the claim. Columns: the intent's, expanded by the caller
-- (`select (c.intent).*, ...`), then the claim, and as jsonb the history (wisely.day_history's
-- row), agents, settings and cache rows (arrays of the tables' rows) and the learner model
-- (wisely.learner_model: p_mastery_window and p_memory_rows come from the code). The cache rows
-- are those of the day's three scope keys (_shared/agents/scope.ts `runScopeKeys`, the format
-- wisely.scope_key_intent reads; test/integration/run_claim_race checks they agree).
create or replace function wisely.claim_day(
  p_user uuid,
  p_week integer,
  p_day integer,
  p_research boolean,
  p_force_refresh boolean,
  p_opens boolean,
  p_mastery_window integer,
  p_memory_rows integer
) returns table (
  intent wisely.intents,
  kind text,
  claim_id uuid,
  claim_expires_at timestamptz,
  history jsonb,
  agents jsonb,
  settings jsonb,
  cache jsonb,
  learner jsonb
)
language plpgsql volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_intent wisely.intents;
  v_found record;
  v_claim record;
  v_keys text[];
begin
  select i.* into v_intent from wisely.intents i where i.user_id = p_user and i.active;
  if not found then
    return;
  end if;

  select d.session, d.stale into v_found from wisely.day_session(p_user, p_week, p_day) d;
  if found and not p_force_refresh and not v_found.stale then
    if p_opens and (v_found.session).opened_at is null then
      update wisely.sessions s set opened_at = pg_catalog.now() where s.id = (v_found.session).id;
    end if;
    intent := v_intent;
    kind := 'existing';
    return next;
    return;
  end if;

  select c.claim_id, c.expires_at into v_claim
  from wisely.claim_run(v_intent.id, p_week, p_day, p_research) c;
  v_keys := array[
    'intent:' || v_intent.id,
    'intent:' || v_intent.id || ':w' || p_week,
    'intent:' || v_intent.id || ':w' || p_week || ':d' || p_day
  ];
  return query
  select v_intent,
    case when v_claim.claim_id is null then 'busy' else 'run' end,
    v_claim.claim_id, v_claim.expires_at,
    to_jsonb(h),
    coalesce((select jsonb_agg(to_jsonb(a) order by a.sort_order, a.name) from wisely.agents a),
      '[]'::jsonb),
    coalesce((select jsonb_agg(jsonb_build_object('key', s.key, 'value', s.value))
      from wisely.settings s), '[]'::jsonb),
    coalesce((select jsonb_agg(jsonb_build_object('agent', c.agent, 'scope_key', c.scope_key,
        'etag', c.etag, 'payload', c.payload, 'fetched_at', c.fetched_at,
        'validated_at', c.validated_at))
      from wisely.agent_cache c where c.user_id = p_user and c.scope_key = any(v_keys)),
      '[]'::jsonb),
    wisely.learner_model(v_intent.id, p_week, p_day, p_mastery_window, p_memory_rows)
  from wisely.day_history(v_intent.id, p_week, p_day) h;
end;
$$;

revoke all on function
  wisely.claim_day(uuid, integer, integer, boolean, boolean, boolean, integer, integer)
  from public, anon;
grant execute on function
  wisely.claim_day(uuid, integer, integer, boolean, boolean, boolean, integer, integer)
  to authenticated, service_role;
