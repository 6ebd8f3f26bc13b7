# Per-series statistics with numpy: mean and standard deviation of the numbers in each list
# series:*.
#
#   redis-cli RPUSH series:a 1 2 3 4
#   redis-cli -x RG.PYEXECUTE < examples/python/numpy_map.py
#
# numpy must be importable by the server's Python (pip install numpy into the Python gears-host
# was built with). Once gears-host installs requirements, send it with them instead:
#   redis-cli RG.PYEXECUTE "$(cat examples/python/numpy_map.py)" REQUIREMENTS numpy
#
# Replies [results, errors]; each result is "<key> n=<count> mean=<mean> std=<std>", by key.
import numpy as np


def stats(record):
    values = np.array(record['value'], dtype=float)
    return '%s n=%d mean=%.3f std=%.3f' % (record['key'], values.size, values.mean(), values.std())


GB().filter(lambda r: r['type'] == 'list').map(stats).sort().run('series:*')
