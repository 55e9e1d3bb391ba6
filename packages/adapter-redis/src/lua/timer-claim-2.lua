-- timer-claim: claims up to `limit` due timers, earliest first, for leaseMs. Claims that expired
-- uncompleted (the claimer crashed) are due again first, with their original due-time.
-- KEYS[1] due zset · KEYS[2] claimed zset (id → claim expiry)
-- ARGV[1] key prefix P · ARGV[2] limit · ARGV[3] leaseMs
-- Reply: the claimed timers' hashes as flat field/value arrays
-- @include helpers
local P = ARGV[1]
local now = nowMs()
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], id)
  local due = redis.call('HGET', P .. 'tmi:' .. id, 'due')
  if due then redis.call('ZADD', KEYS[1], due, id) end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local expiry = now + tonumber(ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local tk = P .. 'tmi:' .. id
  if redis.call('EXISTS', tk) == 1 then
    redis.call('ZADD', KEYS[2], expiry, id)
    out[#out + 1] = redis.call('HGETALL', tk)
  end
end
return out
