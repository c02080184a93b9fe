-- The local delivery loop is woken only when there is something to deliver to (issue 11): with
-- no enabled endpoint, every statement that inserted events woke dev/webhook_worker.ts for an
-- enqueue that found nothing, one more statement and a wake-up per request on the same cores as
-- the request. An endpoint created meanwhile is still served by the loop's poll.
create or replace function wisely.notify_webhooks() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from wisely.webhook_endpoints where disabled_at is null) then
    perform pg_catalog.pg_notify('wisely_webhooks', '');
  end if;
  return null;
end;
$$;
revoke all on function wisely.notify_webhooks() from public, anon, authenticated;
