-- recover: for each task still running under leaseId: back to pending with recoveries + 1, or dead
-- as a poison pill when recoveries would exceed maxRecoveries. The lease is cleared either way.
-- KEYS[1] counts hash
-- ARGV[1] key prefix P · ARGV[2] maxRecoveries · ARGV[3..] pairs: taskId, leaseId
-- Reply: array of 'recovered' | 'dead' | 'skipped'
-- @include helpers
local P = ARGV[1]
local maxRecoveries = tonumber(ARGV[2])
local now = nowMs()
local out = {}
for i = 3, #ARGV, 2 do
  local id, leaseId = ARGV[i], ARGV[i + 1]
  local tk = P .. 't:' .. id
  local cur = redis.call('HMGET', tk, 'st', 'l', 'sq', 'ph')
  if cur[1] == 'running' and cur[2] == leaseId then
    redis.call('HSET', tk, 'l', '', 'w', '')
    local recoveries = redis.call('HINCRBY', tk, 'rc', 1)
    if recoveries > maxRecoveries then
      local message = 'Task ' .. id .. ' was reclaimed ' .. recoveries ..
        ' times after its worker stopped heartbeating (maxRecoveries ' .. maxRecoveries ..
        '); treated as a poison pill. Inspect it and re-run by hand.'
      redis.call('HSET', tk, 'st', 'dead', 'ua', now, 'fa', now, 'e',
        cjson.encode({ name = 'PoisonPillError', message = message, code = 'POISON_PILL', stack = cjson.null }))
      reindex(P, id, 'running', 'dead', cur[3], cur[4], now)
      out[#out + 1] = 'dead'
    else
      redis.call('HSET', tk, 'st', 'pending', 'ua', now)
      reindex(P, id, 'running', 'pending', cur[3], cur[4], now)
      out[#out + 1] = 'recovered'
    end
  else
    out[#out + 1] = 'skipped'
  end
end
flush(KEYS[1])
return out
