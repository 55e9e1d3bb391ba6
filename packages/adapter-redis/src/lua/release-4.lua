-- release: puts each delivery still leased under leaseId back as ready (or delayed), lease cleared.
-- KEYS[1] stream · KEYS[2] deliveries hash · KEYS[3] delayed zset · KEYS[4] leases zset
-- ARGV[1] group · ARGV[2..] triples: taskId, leaseId, delayMs
-- Reply: array of 1 (released) / 0 (lease moved on)
-- @include helpers
local now = nowMs()
local out = {}
for i = 2, #ARGV, 3 do
  local id, delay = ARGV[i], tonumber(ARGV[i + 2])
  if redis.call('HGET', KEYS[2], id) == 'l' .. ARGV[i + 1] then
    redis.call('ZREM', KEYS[4], id)
    if delay > 0 then
      redis.call('ZADD', KEYS[3], now + delay, id)
      redis.call('HSET', KEYS[2], id, 'd')
    else
      redis.call('HSET', KEYS[2], id, 'r' .. redis.call('XADD', KEYS[1], '*', 't', id))
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
