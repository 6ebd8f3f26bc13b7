# Stream to sorted set: entries of the streams score:* ({player, points}) are summed into the
# sorted set leaderboard, in batches, and trimmed from their stream once processed.
#
#   redis-cli -x RG.PYEXECUTE < examples/python/stream_to_zset.py  # replies OK
#   redis-cli XADD score:game1 '*' player alice points 10
#   redis-cli ZRANGE leaderboard 0 -1 WITHSCORES
#
# A bad entry (no numeric points) fails its batch; onFailedPolicy='continue' goes on with the
# next one, and RG.DUMPREGISTRATIONS shows the error in lastError until a batch succeeds.
def add(record):
    entry = record['value']
    execute('ZINCRBY', 'leaderboard', float(entry['points']), entry['player'])


(GB('StreamReader', desc='score:* into leaderboard')
 .foreach(add)
 .register(prefix='score:*', batch=10, duration=50, onFailedPolicy='continue', trimStream=True))
