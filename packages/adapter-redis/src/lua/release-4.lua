-- release: puts each delivery still leased under leaseId back as ready (or delayed), lease cleared.
-- KEYS[1] stream · KEYS[2] deliveries hash · KEYS[3] delayed zset · KEYS[4] leases zset
-- ARGV[1] group · ARGV[2..] triples: taskId, leaseId, delayMs
-- Reply: array of 1 (released) / 0 (lease moved on)
-- @include helpers
local now = nowMs()
local out = {}
for i = 2, #ARGV, 3 do
  local id, leaseId, delay = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local v = redis.call('HGET', KEYS[2], id)
  local ok = 0
  if v and string.sub(v, 1, 1) == 'l' then
    local sp = string.find(v, ' ', 2, true)
    if string.sub(v, sp + 1) == leaseId then
      local sid = string.sub(v, 2, sp - 1)
      redis.call('XACK', KEYS[1], ARGV[1], sid)
      redis.call('XDEL', KEYS[1], sid)
      redis.call('ZREM', KEYS[4], id)
      if delay > 0 then
        redis.call('ZADD', KEYS[3], now + delay, id)
        redis.call('HSET', KEYS[2], id, 'd')
      else
        redis.call('HSET', KEYS[2], id, 'r' .. redis.call('XADD', KEYS[1], '*', 't', id))
      end
      ok = 1
    end
  end
  out[#out + 1] = ok
end
return out
