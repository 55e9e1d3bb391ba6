-- heartbeat-beat: records a beat now (Redis clock) for each id: a key that expires after ttlMs,
-- its beat time in a zset (so stale() scans stalest first) and its expiry in another (so entries
-- of ids that stopped beating are pruned here, a few per call, instead of piling up).
-- KEYS[1] beats zset (id → last beat) · KEYS[2] expiries zset (id → expiry)
-- ARGV[1] key prefix P · ARGV[2..] pairs: id, ttlMs
-- Reply: the beat time
-- @include helpers
local now = nowMs()
local beats, expiries = {}, {}
for i = 2, #ARGV, 2 do
  redis.call('SET', ARGV[1] .. 'hb:' .. ARGV[i], now, 'PX', ARGV[i + 1])
  beats[#beats + 1] = now
  beats[#beats + 1] = ARGV[i]
  expiries[#expiries + 1] = now + tonumber(ARGV[i + 1])
  expiries[#expiries + 1] = ARGV[i]
end
redis.call('ZADD', KEYS[1], unpack(beats))
redis.call('ZADD', KEYS[2], unpack(expiries))
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
return now
