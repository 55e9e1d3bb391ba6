-- enqueue: makes each task deliverable in its queue (after its delay) unless it has a live delivery.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] 5 per item: taskId, queue, priority, group ('' none), delayMs
-- Reply: how many deliveries were created
-- @include event-lib
-- @include queue-lib
local n = enqueueItems(ARGV, 4, nowMs())
flushQueues()
return n
