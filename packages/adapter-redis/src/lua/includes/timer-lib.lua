-- Timers, pasted in place of `-- @include timer-lib`; needs core-lib. K_timer(id) hash: id, kd
-- kind, pl payload JSON, due, ca, and k key / t taskId / p phaseId / n name when set. Indexes:
-- K.timersDue (id → due ms), K.timersClaimed (id → claim expiry), K_timerKey(key) → id while
-- pending, K_timerTask(taskId) and K_timerPhase(phaseId) sets of ids.

-- Removes a timer from its indexes (its hash is deleted or set aside by the caller).
local function unindexTimer(id)
  local cur = redis.call('HMGET', K_timer(id), 'k', 't', 'p')
  redis.call('ZREM', K.timersDue, id)
  redis.call('ZREM', K.timersClaimed, id)
  if cur[1] and redis.call('GET', K_timerKey(cur[1])) == id then redis.call('DEL', K_timerKey(cur[1])) end
  if cur[2] then redis.call('SREM', K_timerTask(cur[2]), id) end
  if cur[3] then redis.call('SREM', K_timerPhase(cur[3]), id) end
end

local function dropTimer(id)
  unindexTimer(id)
  redis.call('DEL', K_timer(id))
end
