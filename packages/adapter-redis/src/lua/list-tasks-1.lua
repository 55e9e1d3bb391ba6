-- list-tasks: scans one creation-ordered index (zset scored by seq) from a cursor and returns the
-- tasks matching every filter, stopping after `limit` matches or `budget` scanned entries.
-- KEYS[1] index zset (P s:<state>, P run:<runId> or P ph:<phaseId>)
-- ARGV[1] key prefix P · ARGV[2] exclusive seq cursor · ARGV[3] budget · ARGV[4] limit
-- ARGV[5] states, comma-separated ('' any) · ARGV[6] type? · ARGV[7] runId? · ARGV[8] phaseId? · ARGV[9] idleForMs?
-- Reply: { nextCursor | false (index exhausted), task hash 1, task hash 2, ... }
-- @include helpers
local P = ARGV[1]
local budget, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local states = nil
if ARGV[5] ~= '' then
  states = {}
  for s in string.gmatch(ARGV[5], '[^,]+') do states[s] = true end
end
local ty, runId, phaseId = opt(ARGV[6]), opt(ARGV[7]), opt(ARGV[8])
local idle = opt(ARGV[9])
local idleBefore = nil
if idle then idleBefore = nowMs() - tonumber(idle) end
local page = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf', 'WITHSCORES', 'LIMIT', 0, budget)
local out = { false }
local found = 0
local cursor = ARGV[2]
for j = 1, #page, 2 do
  local id = page[j]
  cursor = page[j + 1]
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
if #page == budget * 2 then out[1] = cursor end
return out
