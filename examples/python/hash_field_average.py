# The average of the 'age' field over the hashes person:*.
#
#   redis-cli HSET person:1 name Rick age 70
#   redis-cli HSET person:2 name Morty age 14
#   redis-cli -x RG.PYEXECUTE < examples/python/hash_field_average.py
#
# Replies [results, errors] with one result, the average as Python prints a float ("42.0");
# no result at all when no hash has the field.
FIELD = 'age'

(GB()
 .filter(lambda r: r['type'] == 'hash' and FIELD in r['value'])
 .avg(lambda r: float(r['value'][FIELD]))
 .run('person:*'))
