-- beat-stale: live entries (TTL not passed) whose last beat is older than olderThanMs, stalest
-- first, at most `limit`. Entries whose TTL passed are dropped from both zsets on the way.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] olderThanMs · ARGV[5] limit
-- Reply: flat id, lastSeen, ...
local now = nowMs()
local limit = tonumber(ARGV[5])
local cutoff = now - tonumber(ARGV[4])
local out = {}
local offset = 0
while #out < 2 * limit do
  local page = redis.call('ZRANGEBYSCORE', K.beats, '-inf', '(' .. cutoff, 'WITHSCORES', 'LIMIT', offset, 200)
  if #page == 0 then break end
  for j = 1, #page, 2 do
    local id = page[j]
    if redis.call('EXISTS', K_beat(id)) == 1 then
      if #out < 2 * limit then
        out[#out + 1] = id
        out[#out + 1] = page[j + 1]
      end
      offset = offset + 1
    else
      redis.call('ZREM', K.beats, id)
      redis.call('ZREM', K.beatExpiries, id)
    end
  end
  if #page < 400 then break end
end
return out
