-- timer-complete: marks fired timers done; they never fire again.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] timer ids
-- Reply: how many timers were removed
-- @include timer-lib
local n = 0
for i = 4, #ARGV do
  if redis.call('EXISTS', K_timer(ARGV[i])) == 1 then n = n + 1 end
  dropTimer(ARGV[i])
end
return n
