# Write-behind: hashes user:* are copied to a second Redis (a backing store) after each write,
# and deleted there when they are deleted or expire here. The target comes from the extra
# config dictionary, so the same code runs against any backing store:
#
#   redis-cli RG.CONFIGSET WriteBehindTarget 127.0.0.1:6380
#   redis-cli -x RG.PYEXECUTE < examples/python/write_behind.py    # replies OK
#   redis-cli HSET user:1 name alice
#   redis-cli -p 6380 HGETALL user:1
#
# It runs asynchronously (mode 'async': the write is acknowledged first, the copy follows, in
# order) and uses redis-py from the interpreter's site-packages (or add REQUIREMENTS redis).
import redis

_target = {}


def backing():
    # One connection per target, made on first use (configGet reads RG.CONFIGSET's dictionary).
    address = configGet('WriteBehindTarget')
    if address not in _target:
        host, port = address.rsplit(':', 1)
        _target[address] = redis.Redis(host=host, port=int(port), decode_responses=True)
    return _target[address]


def copy(record):
    key = record['key']
    store = backing()
    if not isinstance(record.get('value'), dict):
        # Deleted or expired (or no longer a hash) by the time this runs.
        store.delete(key)
    else:
        with store.pipeline() as p:
            p.delete(key)
            p.hset(key, mapping=record['value'])
            p.execute()


(GB('KeysReader', desc='write-behind of user:*')
 .foreach(copy)
 .register(prefix='user:*', eventTypes=['hset', 'hdel', 'del', 'expired'], mode='async'))
