-- events-seek: where a query for events with seq > `after` starts.
-- KEYS[1] events stream · KEYS[2] floor
-- ARGV[1] after (0 for the beginning)
-- Reply: { first seq to return, id of the entry holding it or false when there is none }
local from = math.max(tonumber(ARGV[1]) + 1, tonumber(redis.call('GET', KEYS[2]) or '1'))
local holder = redis.call('XREVRANGE', KEYS[1], from .. '-0', '-', 'COUNT', 1)
if #holder > 0 then return { from, holder[1][1] } end
local nextEntry = redis.call('XRANGE', KEYS[1], from .. '-0', '+', 'COUNT', 1)
if #nextEntry > 0 then return { from, nextEntry[1][1] } end
return { from, false }
