# How many keys of each type the database holds.
#
#   redis-cli -x RG.PYEXECUTE < examples/python/key_count_by_type.py
#
# Replies [results, errors]; each result is "<type> <count>", sorted by type. Types are the
# KeysReader's: string, list, hash, set, zset, and 'unknown' for streams (as in RedisGears 1.2).
(GB()
 .countby(lambda r: r['type'])
 .map(lambda r: '%s %d' % (r['key'], r['value']))
 .sort()
 .run())
