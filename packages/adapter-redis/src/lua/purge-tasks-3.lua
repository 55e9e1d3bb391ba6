-- purge-tasks: removes tasks of one terminal state that finished before now - olderThanMs, and any
-- beyond the newest keepLatest (by finish time), at most `limit`, with their keys, indices and checkpoints.
-- KEYS[1] the state's zset by finish time (P s:<state>) · KEYS[2] counts hash · KEYS[3] checkpoint stats hash
-- ARGV[1] key prefix P · ARGV[2] state · ARGV[3] olderThanMs · ARGV[4] keepLatest · ARGV[5] limit
-- Reply: number of tasks removed
-- @include helpers
local P, state = ARGV[1], ARGV[2]
local now = nowMs()
-- Both rules select a prefix of the zset in finish order, so the union is the longer prefix.
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
local old = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))
local n = math.min(math.max(excess, old), tonumber(ARGV[5]))
if n <= 0 then return 0 end
local ids = redis.call('ZRANGE', KEYS[1], 0, n - 1)
for _, id in ipairs(ids) do
  local tk = P .. 't:' .. id
  local cur = redis.call('HMGET', tk, 'st', 'ph', 'ru', 'k')
  redis.call('ZREM', KEYS[1], id)
  if cur[1] then
    count(cur[1], cur[2], -1)
    if cur[2] then redis.call('ZREM', P .. 'ph:' .. cur[2], id) end
    if cur[3] then redis.call('ZREM', P .. 'run:' .. cur[3], id) end
    if cur[4] and redis.call('GET', P .. 'k:' .. cur[4]) == id then redis.call('DEL', P .. 'k:' .. cur[4]) end
    redis.call('DEL', tk)
  end
  dropCheckpoint(P, id, KEYS[3])
end
flush(KEYS[2])
return #ids
