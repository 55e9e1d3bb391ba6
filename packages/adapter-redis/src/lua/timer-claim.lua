-- timer-claim: claims up to `limit` due timers, earliest first, for leaseMs. Claims that expired
-- uncompleted (the claimer crashed) are due again first, with their original due time.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] limit · ARGV[5] leaseMs
-- Reply: the claimed timers' hashes (flat)
local now = nowMs()
local lapsed = redis.call('ZRANGEBYSCORE', K.timersClaimed, '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(lapsed) do
  redis.call('ZREM', K.timersClaimed, id)
  local due = redis.call('HGET', K_timer(id), 'due')
  if due then redis.call('ZADD', K.timersDue, due, id) end
end
local ids = redis.call('ZRANGEBYSCORE', K.timersDue, '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local expiry = now + tonumber(ARGV[5])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', K.timersDue, id)
  if redis.call('EXISTS', K_timer(id)) == 1 then
    redis.call('ZADD', K.timersClaimed, expiry, id)
    out[#out + 1] = redis.call('HGETALL', K_timer(id))
  end
end
return out
