-- Claim helpers, pasted in place of `-- @include claim-lib` (not a script itself; needs helpers).
-- Entries are read with NOACK and trimmed at once (XTRIM MINID past the last one read): the lease
-- zset, not the PEL, tracks in-flight deliveries, because leases must be extendable and fenced by
-- leaseId. So the stream holds exactly the ready deliveries.

-- Promotes due delayed deliveries, reads up to `limit` new entries and leases each under
-- base .. n with `expiry` — atomically, so no entry is ever taken without its lease recorded.
-- Returns the flat list taskId, leaseId, … and whether the stream was drained.
local function claimEntries(stream, deliveries, delayed, leases, group, consumer, limit, now, expiry, base)
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
        error(res)
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
  return out, drained
end

-- For a claim that found nothing: the id a blocking XREAD waits after (the group's last-delivered
-- id) and the ms until the next delayed delivery is due (-1: none).
local function wakeInfo(stream, delayed, group, now)
  local wakeFrom = false
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local info = {}
    for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
    if info['name'] == group then wakeFrom = info['last-delivered-id'] end
  end
  local nextIn = -1
  local first = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  if #first > 0 then nextIn = math.max(0, tonumber(first[2]) - now) end
  return wakeFrom, nextIn
end
