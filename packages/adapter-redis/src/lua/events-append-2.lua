-- events-append: appends events in order with stream ids <seq>-0, seq from a counter, so seq is a
-- plain increasing integer and the events of one call are contiguous.
-- KEYS[1] events stream · KEYS[2] seq counter
-- ARGV[1] approximate cap (MAXLEN ~) · ARGV[2..] pairs: at, eventJson
-- Reply: the last seq
local count = (#ARGV - 1) / 2
local last = redis.call('INCRBY', KEYS[2], count)
local seq = last - count
for i = 2, #ARGV, 2 do
  seq = seq + 1
  redis.call('XADD', KEYS[1], seq .. '-0', 'a', ARGV[i], 'e', ARGV[i + 1])
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[1])
return last
