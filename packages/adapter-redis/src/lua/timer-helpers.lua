-- Timer helpers, pasted in place of `-- @include timer-helpers` (not a script itself).
-- Layout: P tmi:<id> timer hash · P tmdue zset (id → dueAt) · P tmclaimed zset (id → claim expiry)
--   P tmk:<key> → id while pending · P tmt:<taskId> / P tmp:<phaseId> sets of ids

-- Removes a timer and everything that points at it.
local function dropTimer(P, dueKey, claimedKey, id)
  local tk = P .. 'tmi:' .. id
  local cur = redis.call('HMGET', tk, 'k', 't', 'p')
  redis.call('DEL', tk)
  redis.call('ZREM', dueKey, id)
  redis.call('ZREM', claimedKey, id)
  if cur[1] and redis.call('GET', P .. 'tmk:' .. cur[1]) == id then redis.call('DEL', P .. 'tmk:' .. cur[1]) end
  if cur[2] then redis.call('SREM', P .. 'tmt:' .. cur[2], id) end
  if cur[3] then redis.call('SREM', P .. 'tmp:' .. cur[3], id) end
end
