-- timer-select: finds pending timers matching every given filter field, then lists or cancels them.
-- KEYS[1] due zset · KEYS[2] claimed zset
-- ARGV[1] key prefix P · ARGV[2] 'list' | 'cancel' · ARGV[3] taskId? · ARGV[4] phaseId?
-- ARGV[5] number of ids (-1: no id filter), the ids, then the number of keys (-1: no key filter), the keys
-- Reply: 'list' → matching timers' hashes; 'cancel' → number removed
-- @include helpers
-- @include timer-helpers
local P, action = ARGV[1], ARGV[2]
local taskId, phaseId = opt(ARGV[3]), opt(ARGV[4])
local pos = 5
local nIds = tonumber(ARGV[pos])
local ids = nil
if nIds >= 0 then
  ids = {}
  for j = 1, nIds do ids[#ids + 1] = ARGV[pos + j] end
  pos = pos + nIds
end
pos = pos + 1
local nKeys = tonumber(ARGV[pos])
local keys = nil
if nKeys >= 0 then
  keys = {}
  for j = 1, nKeys do keys[ARGV[pos + j]] = true end
end

local candidates
if ids then
  candidates = ids
elseif keys then
  candidates = {}
  for k in pairs(keys) do
    local id = redis.call('GET', P .. 'tmk:' .. k)
    if id then candidates[#candidates + 1] = id end
  end
elseif taskId then
  candidates = redis.call('SMEMBERS', P .. 'tmt:' .. taskId)
elseif phaseId then
  candidates = redis.call('SMEMBERS', P .. 'tmp:' .. phaseId)
else
  candidates = redis.call('ZRANGE', KEYS[1], 0, -1)
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do candidates[#candidates + 1] = id end
end

local out = {}
local n = 0
local seen = {}
for _, id in ipairs(candidates) do
  if not seen[id] then
    seen[id] = true
    local tk = P .. 'tmi:' .. id
    local cur = redis.call('HMGET', tk, 'id', 'k', 't', 'p')
    if cur[1]
      and (not keys or (cur[2] and keys[cur[2]]))
      and (not taskId or cur[3] == taskId)
      and (not phaseId or cur[4] == phaseId) then
      if action == 'cancel' then
        dropTimer(P, KEYS[1], KEYS[2], id)
        n = n + 1
      else
        out[#out + 1] = redis.call('HGETALL', tk)
      end
    end
  end
end
if action == 'cancel' then return n end
return out
