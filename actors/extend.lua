-- Extend a lease only if the caller still holds it (compare-and-pexpire).
-- KEYS[1] the lock key; ARGV[1] the holder's token, ARGV[2] the new lease in ms.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
