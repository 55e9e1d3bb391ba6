-- events-purge: drops events older than now - olderThanMs (Redis clock against each event's `at`)
-- or beyond the newest keepLatest, looking at the oldest `limit` events only (events arrive in time
-- order, so old ones sit at the head; a call never scans the whole stream).
-- KEYS[1] events stream
-- ARGV[1] olderThanMs · ARGV[2] keepLatest · ARGV[3] limit
-- Reply: number of events dropped
-- @include helpers
local limit = tonumber(ARGV[3])
if limit <= 0 then return 0 end
local cutoff = nowMs() - tonumber(ARGV[1])
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', limit)
local ids = {}
for j = 1, #head do
  local drop = j <= excess
  if not drop then
    local fields = head[j][2]
    for f = 1, #fields, 2 do
      if fields[f] == 'a' then drop = tonumber(fields[f + 1]) < cutoff end
    end
  end
  if drop then ids[#ids + 1] = head[j][1] end
end
if #ids == 0 then return 0 end
return redis.call('XDEL', KEYS[1], unpack(ids))
