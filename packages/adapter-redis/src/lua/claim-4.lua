-- claim: promotes due delayed deliveries, reads up to `limit` new stream entries for this consumer
-- and leases each under a fresh leaseId with its expiry (Redis clock) in the lease zset, atomically:
-- no entry is ever taken without its lease recorded. Entries are read with NOACK and trimmed at once
-- (XTRIM MINID past the last one read): the lease zset, not the PEL, tracks in-flight deliveries,
-- because leases must be extendable and fenced by leaseId. So the stream holds exactly the ready ones.
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
    redis.call('HSET', deliveries, id, 'r' .. redis.call('XADD', stream, '*', 't', id))
  end
end

local out = {}
local n = 0
local drained = false
local lastRead = nil
for _ = 1, 10 do
  local want = limit - n
  if want <= 0 then break end
  local res = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want, 'NOACK', 'STREAMS', stream, '>')
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
    if #entries > 0 then
      local ids = {}
      for j, e in ipairs(entries) do ids[j] = e[2][2] end
      local current = redis.call('HMGET', deliveries, unpack(ids))
      local sets, zadds = {}, {}
      for j, e in ipairs(entries) do
        local sid, id = e[1], ids[j]
        lastRead = sid
        -- Entries whose delivery was removed or replaced meanwhile are skipped (and trimmed below).
        if current[j] == 'r' .. sid then
          n = n + 1
          local leaseId = base .. n
          sets[#sets + 1] = id
          sets[#sets + 1] = 'l' .. leaseId
          zadds[#zadds + 1] = expiry
          zadds[#zadds + 1] = id
          out[#out + 1] = id
          out[#out + 1] = leaseId
        end
      end
      if #sets > 0 then
        redis.call('HSET', deliveries, unpack(sets))
        redis.call('ZADD', leases, unpack(zadds))
      end
    end
    if #entries < want then
      drained = true
      break
    end
  end
end

if lastRead then
  -- Everything up to lastRead was delivered (the group reads in id order): trim it.
  local dash = string.find(lastRead, '-', 1, true)
  local nextId = string.sub(lastRead, 1, dash) .. string.format('%d', tonumber(string.sub(lastRead, dash + 1)) + 1)
  redis.call('XTRIM', stream, 'MINID', nextId)
end

local wakeFrom = false
local nextIn = -1
if n == 0 and drained then
  local groups = redis.call('XINFO', 'GROUPS', stream)
  for _, g in ipairs(groups) do
    local info = {}
    for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
    if info['name'] == group then wakeFrom = info['last-delivered-id'] end
  end
  local first = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  if #first > 0 then nextIn = math.max(0, tonumber(first[2]) - now) end
end
return { out, wakeFrom, nextIn }
