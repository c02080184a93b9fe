-- Broadcast every wisely.events row on Supabase Realtime.
--
-- The row is inserted by the orchestrator in the same transaction as the change it announces;
-- this trigger sends it with realtime.send on the private topic `wisely.events` (service role
-- listeners) and on `wisely.events:<user_id>`, which only that user may join (policy below).

create or replace function wisely.broadcast_event() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  message jsonb := jsonb_build_object(
    'event_id', new.id,
    'type', new.type,
    'user_id', new.user_id,
    'created_at', new.created_at
  ) || new.payload;
begin
  perform realtime.send(message, new.type, 'wisely.events', true);
  perform realtime.send(message, new.type, 'wisely.events:' || new.user_id::text, true);
  return null;
end;
$$;
revoke all on function wisely.broadcast_event() from public, anon, authenticated;

create trigger events_broadcast
  after insert on wisely.events
  for each row execute function wisely.broadcast_event();

-- A signed-in user may join (read) only their own private topic, and read only its rows.
create policy wisely_events_own_topic_read on realtime.messages
  for select to authenticated
  using (
    extension = 'broadcast'
    and (select realtime.topic()) = 'wisely.events:' || (select auth.uid())::text
    and topic = (select realtime.topic())
  );
