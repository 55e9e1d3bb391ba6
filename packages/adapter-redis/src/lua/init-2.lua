-- init: claims the prefix for this layout version and checks that the queue stream is ours.
-- KEYS[1] meta hash · KEYS[2] queue stream
-- ARGV[1] layout version of this code
-- Reply: { storedVersion, typeOfQueueKey }
redis.call('HSETNX', KEYS[1], 'version', ARGV[1])
return { redis.call('HGET', KEYS[1], 'version'), redis.call('TYPE', KEYS[2])['ok'] }
