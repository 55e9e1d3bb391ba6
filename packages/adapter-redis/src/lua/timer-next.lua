-- timer-next: ms from now (Redis clock) until the earliest timer becomes claimable: the first due
-- timer, or the first claim that will expire uncompleted. 0 when overdue.
-- KEYS[1] the meta hash (routing only)
-- ARGV: none of its own
-- Reply: ms, or false when there are no timers
local best = nil
for _, key in ipairs({ K.timersDue, K.timersClaimed }) do
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #first > 0 then
    local at = tonumber(first[2])
    if not best or at < best then best = at end
  end
end
if not best then return false end
return math.max(0, best - nowMs())
