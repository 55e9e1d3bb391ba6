-- prune-consumers: deletes consumers of the group that hold no pending entries and were idle longer
-- than idleMs (left behind by crashed or stopped worker processes). A live worker that is only idle
-- loses nothing: XREADGROUP recreates its consumer on the next claim.
-- KEYS[1] stream
-- ARGV[1] group · ARGV[2] idleMs
-- Reply: number of consumers deleted
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if not ok then return 0 end
local idleMs = tonumber(ARGV[2])
local n = 0
for _, c in ipairs(consumers) do
  local info = {}
  for j = 1, #c, 2 do info[c[j]] = c[j + 1] end
  if tonumber(info['pending']) == 0 and tonumber(info['idle']) > idleMs then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    n = n + 1
  end
end
return n
