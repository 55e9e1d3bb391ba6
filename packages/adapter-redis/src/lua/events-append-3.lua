-- events-append: appends one call's events as ONE stream entry with id <firstSeq>-0 (seq from a
-- counter, so the events of a call get consecutive seqs, strictly increasing in append order).
-- One entry per call instead of one per event makes the audit trail cheap on the hot path.
-- KEYS[1] events stream · KEYS[2] seq counter · KEYS[3] floor (lowest seq still visible)
-- ARGV[1] cap on visible events · ARGV[2] number of events · ARGV[3] their `at`s, comma-separated
-- ARGV[4] the events as one JSON array
-- Reply: the last seq
local n = tonumber(ARGV[2])
local last = redis.call('INCRBY', KEYS[2], n)
local first = last - n + 1
redis.call('XADD', KEYS[1], first .. '-0', 'a', ARGV[3], 'e', ARGV[4])
-- Backstop cap: move the floor up and drop entries wholly below it.
local floor = tonumber(redis.call('GET', KEYS[3]) or '1')
local cap = tonumber(ARGV[1])
if last - floor + 1 > cap then
  floor = last - cap + 1
  redis.call('SET', KEYS[3], floor)
  local holder = redis.call('XREVRANGE', KEYS[1], floor .. '-0', '-', 'COUNT', 1)
  if #holder > 0 then redis.call('XTRIM', KEYS[1], 'MINID', holder[1][1]) end
end
return last
