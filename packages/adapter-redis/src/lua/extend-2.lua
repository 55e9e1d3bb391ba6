-- extend: pushes each lease still held under leaseId to now + leaseMs (Redis clock).
-- KEYS[1] deliveries hash · KEYS[2] leases zset
-- ARGV[1] leaseMs · ARGV[2..] pairs: taskId, leaseId
-- Reply: array of 1 (extended) / 0 (lease moved on)
-- @include helpers
local expiry = nowMs() + tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[1], id) == 'l' .. ARGV[i + 1] then
    redis.call('ZADD', KEYS[2], expiry, id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
