-- timer-next: ms from now (Redis clock) until the earliest timer becomes claimable: the first due
-- timer, or the first claim that will expire uncompleted. 0 when overdue.
-- KEYS[1] due zset · KEYS[2] claimed zset
-- ARGV: none
-- Reply: ms, or false when there are no timers
-- @include helpers
local best = nil
for _, key in ipairs(KEYS) do
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #first > 0 then
    local at = tonumber(first[2])
    if not best or at < best then best = at end
  end
end
if not best then return false end
return math.max(0, best - nowMs())
