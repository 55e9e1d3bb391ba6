-- extend: pushes each lease still held under leaseId to now + leaseMs (Redis clock).
-- KEYS[1] deliveries hash · KEYS[2] leases zset
-- ARGV[1] leaseMs · ARGV[2..] pairs: taskId, leaseId
-- Reply: array of 1 (extended) / 0 (lease moved on)
-- @include helpers
local expiry = nowMs() + tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 2 do
  local id, leaseId = ARGV[i], ARGV[i + 1]
  local v = redis.call('HGET', KEYS[1], id)
  local ok = 0
  if v and string.sub(v, 1, 1) == 'l' then
    local sp = string.find(v, ' ', 2, true)
    if string.sub(v, sp + 1) == leaseId then
      redis.call('ZADD', KEYS[2], expiry, id)
      ok = 1
    end
  end
  out[#out + 1] = ok
end
return out
