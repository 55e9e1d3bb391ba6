-- start: moves each pending task to running under the given lease (startedAt = now).
-- KEYS[1] counts hash
-- ARGV[1] key prefix P · ARGV[2..] triples: taskId, leaseId, workerId
-- Reply: per claim the task hash as a flat field/value array when started, else its state, else 0 (unknown id)
-- @include helpers
local P = ARGV[1]
local now = nowMs()
local out = {}
for i = 2, #ARGV, 3 do
  local id = ARGV[i]
  local tk = P .. 't:' .. id
  local cur = redis.call('HMGET', tk, 'st', 'sq', 'ph')
  local state = cur[1]
  if not state then
    out[#out + 1] = 0
  elseif state ~= 'pending' then
    out[#out + 1] = state
  else
    redis.call('HSET', tk, 'st', 'running', 'l', ARGV[i + 1], 'w', ARGV[i + 2], 'sa', now, 'ua', now)
    reindex(P, KEYS[1], id, 'pending', 'running', cur[2], cur[3], now)
    out[#out + 1] = redis.call('HGETALL', tk)
  end
end
return out
