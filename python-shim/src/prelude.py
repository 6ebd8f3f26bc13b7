# The RedisGears 1.x Python API as gears-host serves it. Every RG.PYEXECUTE session starts with a
# copy of this module's globals, so these names are available to scripts without imports.
#
# The core operations (map, filter, flatmap, foreach, accumulate, localgroupby, groupby,
# batchgroupby, repartition, collect, limit) are recorded by the native `redisgears` module's
# builder (PyFlatExecution); the rest of the API composes them, with the same observable
# behaviour as RedisGears 1.2 (for example `sort()` is an aggregate into a list, a sort and a
# flatmap, which emits list elements last to first).

import copy
import asyncio
import contextvars
import cProfile
import pstats
import io
from asyncio.futures import Future
from threading import Thread
import redisgears
import redisgears as rg
from redisgears import executeCommand as execute
from redisgears import callNext as call_next
from redisgears import getCommand as get_command
from redisgears import overrideReply as override_reply
from redisgears import atomicCtx as atomic
from redisgears import getMyHashTag as hashtag
from redisgears import registerTimeEvent as registerTE
from redisgears import gearsCtx
from redisgears import gearsFutureCtx as gearsFuture
from redisgears import log
from redisgears import setGearsSession
from redisgears import getGearsSession
from redisgears import registerGearsThread
from redisgears import isInAtomicBlock
from redisgears import config_get as configGet
from redisgears import PyFlatExecution
from redisgears import isAsyncAllow
from redisgears import flatError as flat_error

globals()['str'] = str

# The docs write `flatError('PAUSE ...')`, the 1.2 source only exposes `flat_error`: accept both.
flatError = flat_error


def createKeysOnlyReader(pattern='*', count=1000, noScan=False, patternGenerator=None):
    '''A PythonReader generator yielding the names of the keys matching `pattern`.'''
    def keysOnlyReader():
        nonlocal pattern, count, noScan, patternGenerator
        if patternGenerator is not None:
            pattern, noScan = patternGenerator()
        if noScan:
            try:
                if execute('exists', pattern) == 1:
                    yield pattern
            except Exception:
                return
            return
        cursor = '0'
        while True:
            cursor, keys = execute('scan', cursor, 'MATCH', str(pattern), 'COUNT', str(count))
            for k in keys:
                yield k
            if cursor == '0':
                return
    return keysOnlyReader


def shardReaderCallback():
    '''The ShardsIDReader generator: one record per shard (this server is one shard).'''
    res = execute('RG.INFOCLUSTER')
    if res == 'no cluster mode':
        yield '1'
    else:
        yield res[1]


def _positional(name):
    '''A builder method forwarding positional arguments to the native builder operation.'''
    def op(self, *args):
        getattr(self.gearsCtx, name)(*args)
        return self
    op.__name__ = name
    return op


class GearsBuilder():
    '''Builds a function: a reader, steps, then run() or register().'''

    def __init__(self, reader='KeysReader', defaultArg='*', desc=None):
        self.realReader = reader
        if reader in ('ShardsIDReader', 'KeysOnlyReader'):
            reader = 'PythonReader'
        self.reader = reader
        self.gearsCtx = gearsCtx(self.reader, desc)
        self.defaultArg = defaultArg

    map = _positional('map')
    filter = _positional('filter')
    flatmap = _positional('flatmap')
    foreach = _positional('foreach')
    accumulate = _positional('accumulate')
    localgroupby = _positional('localgroupby')
    groupby = _positional('groupby')
    batchgroupby = _positional('batchgroupby')
    repartition = _positional('repartition')
    collect = _positional('collect')
    limit = _positional('limit')

    def __localAggregateby__(self, extractor, zero, aggregator):
        self.gearsCtx.localgroupby(
            lambda x: extractor(x),
            lambda k, a, r: aggregator(k, a if a else copy.deepcopy(zero), r))
        return self

    def aggregate(self, zero, seqOp, combOp):
        '''Aggregates all records: seqOp locally, then combOp over the local results.'''
        self.gearsCtx.accumulate(lambda a, r: seqOp(a if a else copy.deepcopy(zero), r))
        self.gearsCtx.collect()
        self.gearsCtx.accumulate(lambda a, r: combOp(a if a else copy.deepcopy(zero), r))
        return self

    def aggregateby(self, extractor, zero, seqOp, combOp):
        '''Like aggregate, per key; emits {'key': k, 'value': v} records.'''
        self.__localAggregateby__(extractor, zero, seqOp)
        self.gearsCtx.groupby(
            lambda r: r['key'],
            lambda k, a, r: combOp(k, a if a else copy.deepcopy(zero), r['value']))
        return self

    def count(self):
        '''The number of records (no record at all when there was no input).'''
        self.gearsCtx.accumulate(lambda a, r: 1 + (a if a else 0))
        self.gearsCtx.collect()
        self.gearsCtx.accumulate(lambda a, r: r + (a if a else 0))
        return self

    def countby(self, extractor=lambda x: x):
        '''{'key': k, 'value': n} records: how many records have each key.'''
        return self.aggregateby(extractor, 0, lambda k, a, r: 1 + a, lambda k, a, r: r + a)

    def sort(self, reverse=True):
        '''Sorts the records (with the RedisGears 1.2 output order).'''
        self.aggregate([], lambda a, r: a + [r], lambda a, r: a + r)
        self.map(lambda r: sorted(r, reverse=reverse))
        self.flatmap(lambda r: r)
        return self

    def distinct(self):
        '''Keeps distinct records.'''
        return self.aggregate(set(), lambda a, r: a | set([r]),
                              lambda a, r: a | r).flatmap(lambda x: list(x))

    def avg(self, extractor=lambda x: float(x)):
        '''The average of the extracted values.'''
        return self.map(extractor).aggregate(
            (0, 0),
            lambda a, r: (a[0] + r, a[1] + 1),
            lambda a, r: (a[0] + r[0], a[1] + r[1])).map(lambda x: x[0] / x[1])

    def run(self, arg=None, convertToStr=True, collect=True, **kargs):
        '''Runs the function now over the reader's data.'''
        if convertToStr:
            self.gearsCtx.map(lambda x: str(x))
        if collect:
            self.gearsCtx.collect()
        arg = arg if arg else self.defaultArg
        if self.realReader == 'ShardsIDReader':
            arg = shardReaderCallback
        if self.realReader == 'KeysOnlyReader':
            arg = createKeysOnlyReader(arg, **kargs)
        return self.gearsCtx.run(arg, **kargs)

    def register(self, prefix='*', convertToStr=True, collect=True, **kwargs):
        '''Registers the function to run on the reader's events.'''
        if convertToStr:
            self.gearsCtx.map(lambda x: str(x))
        if collect:
            self.gearsCtx.collect()
        kwargs['prefix'] = prefix
        if 'regex' in kwargs:
            log('Using regex argument with register is deprecated and missleading, use prefix instead.',
                level='warning')
            kwargs['prefix'] = kwargs['regex']
        return self.gearsCtx.register(**kwargs)


GB = GearsBuilder


def gearsConfigGet(key, default=None):
    '''A value from RG.CONFIGSET's extra dictionary, or `default`.'''
    val = configGet(key)
    return val if val is not None else default


def _deprecated(old, new, target):
    def method(*args, **kwargs):
        log('%s is deprecated, use %s instead' % (old, new), level='warning')
        return target(*args, **kwargs)
    method.__name__ = old
    return method


Log = _deprecated('Log', 'log', log)
ConfigGet = _deprecated('ConfigGet', 'configGet', configGet)
GearsConfigGet = _deprecated('GearsConfigGet', 'gearsConfigGet', gearsConfigGet)


# The asyncio event loop of async steps (RedisGears 1.2's `loop`): one loop thread for the
# process. Coroutines returned by step callbacks run here through runCoroutine, with the
# session of their step; futures of the loop remember the session that created them.

# The session of the running asyncio task (asyncio keeps context variables per task): the
# gears API functions called on the loop thread follow it.
_gearsSessionVar = contextvars.ContextVar('gearsSession', default=None)


class GearsSession():
    '''Runs a block of code in gears session `s` (on threads that have no session).'''

    def __init__(self, s):
        self.s = s

    def __enter__(self):
        self.token = _gearsSessionVar.set(self.s)
        setGearsSession(self.s)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        _gearsSessionVar.reset(self.token)
        setGearsSession(_gearsSessionVar.get())


class GearsFuture(Future):
    '''An asyncio future of the gears loop: callbacks run in its session, no await in atomic().'''

    def __init__(self, *, loop=None, gearsSession=None):
        Future.__init__(self, loop=loop)
        self.gearsSession = gearsSession

    def add_done_callback(self, fn, *, context=None):
        def BeforeFn(*args, **kargs):
            try:
                with GearsSession(self.gearsSession):
                    fn(*args, **kargs)
            except Exception as e:
                log(str(e))
        Future.add_done_callback(self, BeforeFn, context=context)

    def __await__(self):
        res = None
        if isInAtomicBlock():
            raise Exception("await is not allow inside atomic block")
        else:
            res = yield from Future.__await__(self)
        return res


loop = asyncio.new_event_loop()

loop.create_future = lambda: GearsFuture(loop=loop, gearsSession=getGearsSession())


def createFuture():
    '''A new future of the gears loop.'''
    return globals()['loop'].create_future()


def setFutureResults(f, res):
    '''Resolves future `f` with `res` (thread-safe).'''
    async def setFutureRes():
        f.set_result(res)
    asyncio.run_coroutine_threadsafe(setFutureRes(), globals()['loop'])


def setFutureException(f, exception):
    '''Fails future `f` with `exception` (wrapped in Exception when it is not one; thread-safe).'''
    async def setException():
        if isinstance(exception, Exception):
            f.set_exception(exception)
        else:
            f.set_exception(Exception(str(exception)))
    asyncio.run_coroutine_threadsafe(setException(), globals()['loop'])


def f(loop):
    registerGearsThread()
    asyncio.set_event_loop(loop)
    loop.run_forever()


t = Thread(target=f, args=(loop,), name='gears-asyncio', daemon=True)
t.start()


def runCoroutine(cr, f=None, delay=0, s=None):
    '''Runs coroutine `cr` on the gears loop (after `delay` seconds) in session `s` (default:
    the current one); its result continues gears future `f` (continueRun/continueFailed).'''
    if s is None:
        s = getGearsSession()
    async def runInternal():
        try:
            with GearsSession(s):
                if delay:
                    await asyncio.sleep(delay)
                res = await cr
        except BaseException as e:  # also cancellation: never leave a step waiting
            try:
                if f is not None:
                    f.continueFailed(e)
            except Exception as e1:
                log(str(e1))
            return
        if f is not None:
            f.continueRun(res)
    asyncio.run_coroutine_threadsafe(runInternal(), globals()['loop'])


def profilerCreate():
    return cProfile.Profile()


def profileStart(p):
    p.enable()


def profileStop(p):
    p.disable()


class _ProfileSnapshot():
    '''What pstats reads instead of a live profiler: its data so far. (Stats() would disable
    the profiler, possibly while another thread profiles a callback with it.)'''

    def __init__(self, p):
        self.p = p

    def create_stats(self):
        self.p.snapshot_stats()
        self.stats = self.p.stats


def _profileSnapshot(p):
    return _ProfileSnapshot(p)


def profileGetInfo(p, order):
    s = io.StringIO()
    ps = pstats.Stats(p, stream=s)
    ps.sort_stats(order)
    ps.print_stats()
    ps.print_callers()
    ps.print_callees()
    return s.getvalue()
