-- events-seek: where a query for events with seq > `after` starts.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] after (0 for the beginning)
-- Reply: { first seq to return, id of the entry holding it or false when there is none }
local from = math.max(tonumber(ARGV[4]) + 1, tonumber(redis.call('GET', K.eventFloor) or '1'))
local holder = redis.call('XREVRANGE', K.events, from .. '-0', '-', 'COUNT', 1)
if #holder > 0 then return { from, holder[1][1] } end
local nextEntry = redis.call('XRANGE', K.events, from .. '-0', '+', 'COUNT', 1)
if #nextEntry > 0 then return { from, nextEntry[1][1] } end
return { from, false }
