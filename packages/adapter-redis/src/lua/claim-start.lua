-- claim-start: claim, then transitions.start of each claimed task under its delivery's lease, in
-- one step (TaskFlow.claimAndStart); with startedEvents, each started task's `task.started`.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] limit · ARGV[5] leaseMs · ARGV[6] waitMs · ARGV[7] workerId · ARGV[8] '1' to append task.started
-- ARGV[9..] queue names
-- Reply: { {taskId, leaseId, start reply (see start.lua), ...}, wake ids | false, ms | -1, now }
-- @include event-lib
-- @include queue-lib
-- @include task-lib
local now = nowMs()
local queues = {}
for i = 9, #ARGV do queues[#queues + 1] = ARGV[i] end
local claimed = claimDeliveries(queues, tonumber(ARGV[4]), now + tonumber(ARGV[5]), now)
local claims = {}
for i = 1, #claimed, 2 do
  claims[#claims + 1] = claimed[i]
  claims[#claims + 1] = claimed[i + 1]
  claims[#claims + 1] = ARGV[7]
end
local starts = startAll(claims, ARGV[8] == '1', NOW_TEXT)
local out = {}
for i = 1, #claimed, 2 do
  out[#out + 1] = claimed[i]
  out[#out + 1] = claimed[i + 1]
  out[#out + 1] = starts[(i + 1) / 2]
end
local wake, nextIn = false, -1
if #out == 0 then wake, nextIn = wakeInfo(queues, tonumber(ARGV[6]), now) end
flushQueues()
flushIndexes()
flushEvents()
return { out, wake, nextIn, now }
