-- Task state changes shared by the task scripts and the fused ones, pasted in place of
-- `-- @include task-lib` (not a script itself; needs helpers).

-- pending → running under leaseId. Returns the reply element of start-1.lua:
-- { now, x, a, rc, uc, ut, cp, e } when started, else the task's state, else 0 (unknown id).
local function startTask(P, id, leaseId, workerId, now)
  local tk = P .. 't:' .. id
  local cur = redis.call('HMGET', tk, 'st', 'ph', 'x', 'a', 'rc', 'uc', 'ut', 'cp', 'e')
  local state = cur[1]
  if not state then return 0 end
  if state ~= 'pending' then return state end
  redis.call('HSET', tk, 'st', 'running', 'ua', now, 'l', leaseId, 'w', workerId, 'sa', now)
  count('pending', cur[2], -1)
  count('running', cur[2], 1)
  return { now, cur[3], cur[4], cur[5], cur[6], cur[7], cur[8], cur[9] }
end

-- Applies an outcome if the task is running under leaseId, clearing the lease. Returns true if applied.
local function finishTask(P, id, leaseId, to, result, err, duration, now)
  local tk = P .. 't:' .. id
  local cur = redis.call('HMGET', tk, 'st', 'l', 'sq', 'ph')
  if cur[1] ~= 'running' or cur[2] ~= leaseId then return false end
  local fields = { 'st', to, 'ua', now, 'l', '', 'w', '' }
  if result then fields[#fields + 1] = 'r'; fields[#fields + 1] = result end
  if err then fields[#fields + 1] = 'e'; fields[#fields + 1] = err end
  if duration then fields[#fields + 1] = 'd'; fields[#fields + 1] = duration end
  if TERMINAL[to] then fields[#fields + 1] = 'fa'; fields[#fields + 1] = now end
  redis.call('HSET', tk, unpack(fields))
  if to == 'scheduled' then redis.call('HINCRBY', tk, 'a', 1) end
  reindex(P, id, 'running', to, cur[3], cur[4], now)
  return true
end
