-- Take an agent's lease if it is free, and a new fence number with it.
-- KEYS[1] the lock key, KEYS[2] the agent's fence counter
-- ARGV[1] the holder's token (names the message), ARGV[2] the lease in ms
-- Returns the fence (>= 1), or 0 when another holder has the lease.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
