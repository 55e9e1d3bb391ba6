-- timer-select: finds pending timers matching every given filter field, then lists or cancels them.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] 'list' | 'cancel' · ARGV[5] taskId? · ARGV[6] phaseId? ('' null, '=' .. value)
-- ARGV[7] number of ids (-1: no id filter), the ids, then the number of keys (-1: no key filter), the keys
-- Reply: 'list' → the matching timers' hashes (flat); 'cancel' → how many were removed
-- @include timer-lib
local action = ARGV[4]
local taskId, phaseId = opt(ARGV[5]), opt(ARGV[6])
local pos = 7
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
    local id = redis.call('GET', K_timerKey(k))
    if id then candidates[#candidates + 1] = id end
  end
elseif taskId then
  candidates = redis.call('SMEMBERS', K_timerTask(taskId))
elseif phaseId then
  candidates = redis.call('SMEMBERS', K_timerPhase(phaseId))
else
  candidates = redis.call('ZRANGE', K.timersDue, 0, -1)
  for _, id in ipairs(redis.call('ZRANGE', K.timersClaimed, 0, -1)) do candidates[#candidates + 1] = id end
end
local out = {}
local n = 0
local seen = {}
for _, id in ipairs(candidates) do
  if not seen[id] then
    seen[id] = true
    local cur = redis.call('HMGET', K_timer(id), 'id', 'k', 't', 'p')
    if cur[1]
      and (not keys or (cur[2] and keys[cur[2]]))
      and (not taskId or cur[3] == taskId)
      and (not phaseId or cur[4] == phaseId) then
      if action == 'cancel' then
        dropTimer(id)
        n = n + 1
      else
        out[#out + 1] = redis.call('HGETALL', K_timer(id))
      end
    end
  end
end
if action == 'cancel' then return n end
return out
