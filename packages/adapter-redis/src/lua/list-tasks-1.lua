-- list-tasks: scans one index from a cursor and returns the tasks matching every filter, stopping
-- after `limit` matches or `budget` scanned entries. Indexes by seq (s:active, run:, ph:) are scanned
-- by score (exclusive seq cursor); terminal-state indexes (by finish time) by rank offset.
-- KEYS[1] index zset
-- ARGV[1] key prefix P · ARGV[2] 'score' | 'rank' · ARGV[3] cursor · ARGV[4] budget · ARGV[5] limit
-- ARGV[6] states, comma-separated ('' any) · ARGV[7] type? · ARGV[8] runId? · ARGV[9] phaseId? · ARGV[10] idleForMs?
-- Reply: { nextCursor | false (index exhausted), task hash 1, task hash 2, ... }
-- @include helpers
local P = ARGV[1]
local byScore = ARGV[2] == 'score'
local budget, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local states = nil
if ARGV[6] ~= '' then
  states = {}
  for s in string.gmatch(ARGV[6], '[^,]+') do states[s] = true end
end
local ty, runId, phaseId = opt(ARGV[7]), opt(ARGV[8]), opt(ARGV[9])
local idle = opt(ARGV[10])
local idleBefore = nil
if idle then idleBefore = nowMs() - tonumber(idle) end
local ids
if byScore then
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[3], '+inf', 'WITHSCORES', 'LIMIT', 0, budget)
else
  local from = tonumber(ARGV[3])
  ids = redis.call('ZRANGE', KEYS[1], from, from + budget - 1)
end
local step = byScore and 2 or 1
local out = { false }
local found = 0
local cursor = ARGV[3]
local scanned = 0
for j = 1, #ids, step do
  local id = ids[j]
  scanned = scanned + 1
  if byScore then cursor = ids[j + 1] else cursor = tostring(tonumber(ARGV[3]) + scanned) end
  local tk = P .. 't:' .. id
  local cur = redis.call('HMGET', tk, 'st', 'ty', 'ru', 'ph', 'ua')
  if cur[1]
    and (not states or states[cur[1]])
    and (not ty or cur[2] == ty)
    and (not runId or cur[3] == runId)
    and (not phaseId or cur[4] == phaseId)
    and (not idleBefore or tonumber(cur[5]) <= idleBefore) then
    out[#out + 1] = redis.call('HGETALL', tk)
    found = found + 1
    if found >= limit then
      out[1] = cursor
      return out
    end
  end
end
if scanned == budget then out[1] = cursor end
return out
