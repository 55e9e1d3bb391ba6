-- reclaim: returns deliveries whose lease expired (Redis clock) to the tail of the stream as ready.
-- KEYS[1] stream · KEYS[2] deliveries hash · KEYS[3] leases zset
-- ARGV[1] group · ARGV[2] limit
-- Reply: flat array taskId, expiredLeaseId, ...
-- @include helpers
local now = nowMs()
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  local v = redis.call('HGET', KEYS[2], id)
  if v and string.sub(v, 1, 1) == 'l' then
    redis.call('HSET', KEYS[2], id, 'r' .. redis.call('XADD', KEYS[1], '*', 't', id))
    out[#out + 1] = id
    out[#out + 1] = string.sub(v, 2)
  end
end
return out
