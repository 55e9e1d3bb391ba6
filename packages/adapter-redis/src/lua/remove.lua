-- remove: drops the tasks' deliveries whatever their state or lease (cancellation).
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] taskIds
-- Reply: how many deliveries were dropped
-- @include event-lib
-- @include queue-lib
local n = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  local v = redis.call('HGET', K.deliveries, id)
  if v then
    local d = parseDelivery(v)
    if d and d.s == 'r' then
      dropReady(id, d)
    elseif d and d.s == 'd' then
      redis.call('ZREM', K_delayed(d.q), id)
    elseif d then
      unlease(id, d)
    end
    redis.call('HDEL', K.deliveries, id)
    n = n + 1
  end
end
flushIndexes()
flushQueues()
return n
