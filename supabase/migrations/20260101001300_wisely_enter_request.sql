-- The request gate's statement with the handler's statements pipelined behind it (issue 11,
-- supabase/functions/_shared/http/gate.ts): as begin_request (claims, token, role), but a
-- refusal raises instead of returning the wait, so that nothing sent behind it in the same
-- transaction runs (an aborted transaction runs no statement) and the request costs no round
-- trip of its own. SQLSTATE WR429 (a class of our own), the seconds to wait in DETAIL.
create or replace function wisely.enter_request(
  p_claims text,
  p_bucket text,
  p_burst double precision,
  p_refill_per_s double precision
) returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  v_wait integer;
begin
  v_wait := wisely.begin_request(p_claims, p_bucket, p_burst, p_refill_per_s);
  if v_wait > 0 then
    raise exception 'rate limited' using errcode = 'WR429', detail = v_wait::text;
  end if;
end;
$$;

-- Like begin_request: only the pool's role (the owner) calls it; users never choose buckets.
revoke all on function wisely.enter_request(text, text, double precision, double precision)
  from public, anon, authenticated, service_role;
