-- events-purge: drops, oldest first, the events beyond the newest keepLatest or older than
-- now - olderThanMs (Redis clock against each event's `at`; events arrive in time order, so the
-- old ones are a prefix), at most `limit`. Dropping raises the floor (the lowest visible seq) and
-- deletes stream entries that lie wholly below it.
-- KEYS[1] events stream · KEYS[2] seq counter · KEYS[3] floor
-- ARGV[1] olderThanMs · ARGV[2] keepLatest · ARGV[3] limit
-- Reply: number of events dropped
-- @include helpers
local limit = tonumber(ARGV[3])
if limit <= 0 then return 0 end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local floor = tonumber(redis.call('GET', KEYS[3]) or '1')
local cutoff = nowMs() - tonumber(ARGV[1])
local drop = math.max(0, math.min(limit, last - floor + 1 - tonumber(ARGV[2])))
-- Then walk the remaining prefix while it is older than the cutoff.
local cursor = '-'
local walking = drop < limit
while walking do
  local page = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', 10)
  if #page == 0 then break end
  for _, entry in ipairs(page) do
    local id, fields = entry[1], entry[2]
    local seq = tonumber(string.sub(id, 1, string.find(id, '-', 1, true) - 1))
    local ats = fields[2]
    if fields[1] ~= 'a' then ats = fields[4] end
    for at in string.gmatch(ats, '[^,]+') do
      if seq >= floor + drop then
        if drop >= limit or tonumber(at) >= cutoff then
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
redis.call('SET', KEYS[3], floor)
local holder = redis.call('XREVRANGE', KEYS[1], floor .. '-0', '-', 'COUNT', 1)
if #holder > 0 then redis.call('XTRIM', KEYS[1], 'MINID', holder[1][1]) end
return drop
