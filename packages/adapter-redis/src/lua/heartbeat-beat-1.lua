-- heartbeat-beat: records a beat now (Redis clock) for each id: a key that expires after ttlMs,
-- plus the beat time in a zset so stale() can scan stalest first.
-- KEYS[1] beats zset (id → last beat)
-- ARGV[1] key prefix P · ARGV[2..] pairs: id, ttlMs
-- Reply: the beat time
-- @include helpers
local now = nowMs()
for i = 2, #ARGV, 2 do
  redis.call('SET', ARGV[1] .. 'hb:' .. ARGV[i], now, 'PX', ARGV[i + 1])
  redis.call('ZADD', KEYS[1], now, ARGV[i])
end
return now
