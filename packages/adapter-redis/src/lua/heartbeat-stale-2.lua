-- heartbeat-stale: live entries (TTL not passed) whose last beat is older than olderThanMs, stalest
-- first. Entries whose key expired are dropped from both zsets on the way.
-- KEYS[1] beats zset · KEYS[2] expiries zset
-- ARGV[1] key prefix P · ARGV[2] olderThanMs · ARGV[3] limit
-- Reply: flat array id, lastSeen, ...
-- @include helpers
local cutoff = nowMs() - tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local out = {}
local offset = 0
for _ = 1, 100 do
  local page = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff, 'WITHSCORES', 'LIMIT', offset, 200)
  if #page == 0 then break end
  for j = 1, #page, 2 do
    local id = page[j]
    if redis.call('EXISTS', ARGV[1] .. 'hb:' .. id) == 1 then
      out[#out + 1] = id
      out[#out + 1] = page[j + 1]
      offset = offset + 1
      if #out >= limit * 2 then return out end
    else
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZREM', KEYS[2], id)
    end
  end
  if #page < 400 then break end
end
return out
