-- claim: promotes due delayed deliveries, then reads up to `limit` new stream entries for this
-- consumer and leases each under a fresh leaseId, atomically (no entry is ever pending without a lease).
-- KEYS[1] stream · KEYS[2] deliveries hash · KEYS[3] delayed zset · KEYS[4] leases zset (taskId → expiry ms)
-- ARGV[1] group · ARGV[2] consumer · ARGV[3] limit · ARGV[4] leaseMs · ARGV[5] leaseId prefix (unique per call)
-- Reply: { {taskId, leaseId, ...}, wakeFromId | false, msUntilNextDelayed | -1 }
--   wakeFromId is set when nothing was claimed: a blocking XREAD from it wakes on the next new entry.
-- @include helpers
local stream, deliveries, delayed, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local group, consumer = ARGV[1], ARGV[2]
local limit = tonumber(ARGV[3])
local now = nowMs()
local expiry = now + tonumber(ARGV[4])
local base = ARGV[5]

local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', delayed, id)
  if redis.call('HGET', deliveries, id) == 'd' then
    local sid = redis.call('XADD', stream, '*', 't', id)
    redis.call('HSET', deliveries, id, 'r' .. sid)
  end
end

local out = {}
local n = 0
local drained = false
for _ = 1, 10 do
  local want = limit - n
  if want <= 0 then break end
  local res = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want, 'STREAMS', stream, '>')
  if type(res) == 'table' and res.err then
    if string.find(res.err, 'NOGROUP', 1, true) then
      -- The stream or group vanished (e.g. Redis restarted without persistence): recreate, read everything.
      redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
    else
      return redis.error_reply(res.err)
    end
  elseif not res then
    drained = true
    break
  else
    local entries = res[1][2]
    for _, e in ipairs(entries) do
      local sid, id = e[1], e[2][2]
      if redis.call('HGET', deliveries, id) == 'r' .. sid then
        n = n + 1
        local leaseId = base .. n
        redis.call('HSET', deliveries, id, 'l' .. sid .. ' ' .. leaseId)
        redis.call('ZADD', leases, expiry, id)
        out[#out + 1] = id
        out[#out + 1] = leaseId
      else
        -- An entry whose delivery was removed or replaced: drop it so the stream holds only live deliveries.
        redis.call('XACK', stream, group, sid)
        redis.call('XDEL', stream, sid)
      end
    end
    if #entries < want then
      drained = true
      break
    end
  end
end

local wakeFrom = false
local nextIn = -1
if n == 0 and drained then
  -- Every entry now in the stream was delivered, so any entry after the newest one is new work.
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if #last > 0 then wakeFrom = last[1][1] else wakeFrom = '0-1' end
  local first = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  if #first > 0 then nextIn = math.max(0, tonumber(first[2]) - now) end
end
return { out, wakeFrom, nextIn }
