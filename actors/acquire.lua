-- Take an agent's lease if it is free, and a new fence number with it.
-- KEYS[1] the lock key, KEYS[2] the agent's fence counter
-- ARGV[1] the holder's token, ARGV[2] the lease in ms, ARGV[3] the fence floor: the highest
-- fence the journal has seen (a flushed Redis must not hand out fences again from 1)
-- Returns the fence (> floor), or 0 when another holder has the lease.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local fence = redis.call('INCR', KEYS[2])
  local floor = tonumber(ARGV[3])
  if fence <= floor then
    fence = floor + 1
    redis.call('SET', KEYS[2], fence)
  end
  return fence
end
return 0
