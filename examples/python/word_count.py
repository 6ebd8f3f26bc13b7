# Word count over the string values of the keys doc:*.
#
#   redis-cli MSET doc:1 "The quick brown fox" doc:2 "the lazy dog, the end"
#   redis-cli -x RG.PYEXECUTE < examples/python/word_count.py
#
# Replies [results, errors]; each result is "<word> <count>", most frequent first, then by word.
import re


def words(record):
    # A list returned by flatmap becomes one record per element.
    return re.findall(r"[a-z0-9']+", record['value'].lower())


(GB()                                                  # KeysReader: one record per key
 .filter(lambda r: r['type'] == 'string')             # only string values hold text
 .flatmap(words)                                       # one record per word
 .countby()                                            # {'key': word, 'value': count}
 .map(lambda r: (-r['value'], r['key']))               # order: count descending, then word
 .sort()
 .map(lambda r: '%s %d' % (r[1], -r[0]))
 .run('doc:*'))
