-- transition: unfenced move of each task whose state is one of `from` to `to`, clearing any lease.
-- KEYS[1] counts hash
-- ARGV[1] key prefix P · ARGV[2] to · ARGV[3] errorJson? · ARGV[4] from states, comma-separated · ARGV[5..] taskIds
-- Reply: the ids that moved
-- @include helpers
local P = ARGV[1]
local to = ARGV[2]
local err = opt(ARGV[3])
local from = {}
for s in string.gmatch(ARGV[4], '[^,]+') do from[s] = true end
local now = nowMs()
local out = {}
local seen = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  if not seen[id] then
    seen[id] = true
    local tk = P .. 't:' .. id
    local cur = redis.call('HMGET', tk, 'st', 'sq', 'ph')
    if cur[1] and from[cur[1]] then
      redis.call('HSET', tk, 'st', to, 'ua', now, 'l', '', 'w', '')
      if err then redis.call('HSET', tk, 'e', err) end
      if TERMINAL[to] then redis.call('HSET', tk, 'fa', now) end
      reindex(P, id, cur[1], to, cur[2], cur[3], now)
      out[#out + 1] = id
    end
  end
end
flush(KEYS[1])
return out
