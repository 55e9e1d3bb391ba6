-- start: moves each pending task to running under the given lease (startedAt = now).
-- KEYS[1] counts hash
-- ARGV[1] key prefix P · ARGV[2..] triples: taskId, leaseId, workerId
-- Reply: per claim, when started: { now, x, a, rc, uc, ut, cp, e } (values; see task-codec.ts),
--   else the task's state, else 0 (unknown id)
-- @include helpers
local P = ARGV[1]
local now = nowMs()
local out = {}
for i = 2, #ARGV, 3 do
  local tk = P .. 't:' .. ARGV[i]
  local cur = redis.call('HMGET', tk, 'st', 'ph', 'x', 'a', 'rc', 'uc', 'ut', 'cp', 'e')
  local state = cur[1]
  if not state then
    out[#out + 1] = 0
  elseif state ~= 'pending' then
    out[#out + 1] = state
  else
    redis.call('HSET', tk, 'st', 'running', 'ua', now, 'l', ARGV[i + 1], 'w', ARGV[i + 2], 'sa', now)
    count('pending', cur[2], -1)
    count('running', cur[2], 1)
    out[#out + 1] = { now, cur[3], cur[4], cur[5], cur[6], cur[7], cur[8], cur[9] }
  end
end
flush(KEYS[1])
return out
