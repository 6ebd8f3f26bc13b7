# Keyspace audit log: every write to an account key appends an entry to the stream audit:log,
# before the writing client gets its reply (a sync registration).
#
#   redis-cli -x RG.PYEXECUTE < examples/python/audit_log.py      # replies OK
#   redis-cli SET account:1 100
#   redis-cli XRANGE audit:log - +
#
# Each entry has the key, the event (set, hset, incrby, del, expired...) and the key's type
# after the write ('none' once it is gone).
(GB('KeysReader', desc='audit log of account:*')
 .foreach(lambda r: execute('XADD', 'audit:log', '*',
                            'key', r['key'],
                            'event', r['event'],
                            'type', execute('TYPE', r['key'])))
 .register(prefix='account:*', mode='sync', readValue=False))
