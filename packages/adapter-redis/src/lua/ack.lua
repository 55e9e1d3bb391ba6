-- ack: removes each delivery still leased under its leaseId; its slot is free again.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] pairs: taskId, leaseId
-- Reply: per ref 1 (removed) / 0 (lease moved on)
-- @include event-lib
-- @include queue-lib
local out = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local d = parseDelivery(redis.call('HGET', K.deliveries, id))
  if d and d.s == 'l' and d.x == ARGV[i + 1] then
    redis.call('HDEL', K.deliveries, id)
    unlease(id, d)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
flushIndexes()
flushQueues()
return out
