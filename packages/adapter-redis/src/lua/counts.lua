-- counts: task counts by (phase | queue | type, state) with the oldest updatedAt of each group,
-- over one state index from a cursor, at most `budget` entries per call (the caller sums pages).
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] 'phase' | 'queue' | 'type' · ARGV[5] source ('active' or a terminal state) · ARGV[6] cursor seq · ARGV[7] budget
-- Reply: { next cursor | false, then per group: key ('' for none), state, count, oldest updatedAt }
local field = ({ phase = 'ph', queue = 'q', type = 'ty' })[ARGV[4]]
local key = ARGV[5] == 'active' and K.active or K_finishedBySeq(ARGV[5])
local budget = tonumber(ARGV[7])
local got = redis.call('ZRANGEBYSCORE', key, '(' .. ARGV[6], '+inf', 'WITHSCORES', 'LIMIT', 0, budget)
local groups, order = {}, {}
for j = 1, #got, 2 do
  local cur = redis.call('HMGET', K_task(got[j]), 'st', field, 'ua')
  if cur[1] then
    local k = cur[1] .. '\t' .. (cur[2] or '')
    local g = groups[k]
    local ua = tonumber(cur[3]) or 0
    if not g then
      g = { cur[2] or '', cur[1], 0, ua }
      groups[k] = g
      order[#order + 1] = g
    end
    g[3] = g[3] + 1
    if ua < g[4] then g[4] = ua end
  end
end
local out = { false }
if #got == 2 * budget then out[1] = got[#got] end
for _, g in ipairs(order) do
  out[#out + 1] = g[1]
  out[#out + 1] = g[2]
  out[#out + 1] = g[3]
  out[#out + 1] = g[4]
end
return out
