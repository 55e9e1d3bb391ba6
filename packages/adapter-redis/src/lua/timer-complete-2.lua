-- timer-complete: marks fired timers done; they never fire again.
-- KEYS[1] due zset · KEYS[2] claimed zset
-- ARGV[1] key prefix P · ARGV[2..] timer ids
-- Reply: number of timers removed
-- @include timer-helpers
local n = 0
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. 'tmi:' .. ARGV[i]) == 1 then n = n + 1 end
  dropTimer(ARGV[1], KEYS[1], KEYS[2], ARGV[i])
end
return n
