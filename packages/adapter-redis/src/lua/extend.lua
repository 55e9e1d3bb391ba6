-- extend: pushes each lease still held under its leaseId to now + leaseMs (Redis clock).
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] leaseMs · ARGV[5..] pairs: taskId, leaseId
-- Reply: per ref 1 (extended) / 0 (lease moved on)
-- @include event-lib
-- @include queue-lib
local expiry = nowMs() + tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV, 2 do
  local d = parseDelivery(redis.call('HGET', K.deliveries, ARGV[i]))
  if d and d.s == 'l' and d.x == ARGV[i + 1] then
    redis.call('ZADD', K.leases, expiry, ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
