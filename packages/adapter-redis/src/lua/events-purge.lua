-- events-purge: drops, oldest first, the events beyond the newest keepLatest or older than
-- now − olderThanMs (Redis clock against each event's `at`; old ones are a prefix), at most
-- `limit`. Dropping raises the floor (the lowest visible seq) and trims entries wholly below it.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] olderThanMs · ARGV[5] keepLatest · ARGV[6] limit
-- Reply: how many events were dropped
local limit = tonumber(ARGV[6])
if limit <= 0 then return 0 end
local last = tonumber(redis.call('GET', K.eventSeq) or '0')
local floor = tonumber(redis.call('GET', K.eventFloor) or '1')
local cutoff = nowMs() - tonumber(ARGV[4])
local drop = math.max(0, math.min(limit, last - floor + 1 - tonumber(ARGV[5])))
-- Then walk the remaining prefix while it is older than the cutoff.
local cursor = '-'
local walking = drop < limit
while walking do
  local page = redis.call('XRANGE', K.events, cursor, '+', 'COUNT', 10)
  if #page == 0 then break end
  for _, entry in ipairs(page) do
    local id, fields = entry[1], entry[2]
    local seq = tonumber(string.sub(id, 1, string.find(id, '-', 1, true) - 1))
    local ats = ''
    for j = 1, #fields, 2 do if fields[j] == 'a' then ats = fields[j + 1] end end
    for at in string.gmatch(ats, '[^,]+') do
      if seq >= floor + drop then
        if drop >= limit or (tonumber(at) or 0) >= cutoff then
          walking = false
          break
        end
        drop = drop + 1
      end
      seq = seq + 1
    end
    if not walking then break end
    cursor = '(' .. id
  end
  if #page < 10 then break end
end
if drop == 0 then return 0 end
floor = floor + drop
redis.call('SET', K.eventFloor, floor)
local holder = redis.call('XREVRANGE', K.events, floor .. '-0', '-', 'COUNT', 1)
if #holder > 0 then redis.call('XTRIM', K.events, 'MINID', holder[1][1]) end
return drop
