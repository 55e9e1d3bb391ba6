-- beat: records a beat now (Redis clock) for each id: a key expiring after its TTL, its beat time
-- in K.beats (stale() scans stalest first) and its expiry in K.beatExpiries, so entries of ids
-- that stopped beating are pruned here, a few per call, instead of piling up.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] pairs: id, ttlMs
-- Reply: the beat time
local now = nowMs()
local beats, expiries = {}, {}
for i = 4, #ARGV, 2 do
  redis.call('SET', K_beat(ARGV[i]), now, 'PX', ARGV[i + 1])
  beats[#beats + 1] = now
  beats[#beats + 1] = ARGV[i]
  expiries[#expiries + 1] = now + tonumber(ARGV[i + 1])
  expiries[#expiries + 1] = ARGV[i]
end
redis.call('ZADD', K.beats, unpack(beats))
redis.call('ZADD', K.beatExpiries, unpack(expiries))
local gone = redis.call('ZRANGEBYSCORE', K.beatExpiries, '-inf', now, 'LIMIT', 0, 100)
if #gone > 0 then
  redis.call('ZREM', K.beats, unpack(gone))
  redis.call('ZREM', K.beatExpiries, unpack(gone))
end
return now
