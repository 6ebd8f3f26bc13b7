"""py-hello: a gears-host wasm function in Python, built with componentize-py from wit/gears.wit.

At upload it
  - runs once: KeysReader over `greeting:*`, mapping each record to its value in upper case
    (the reply is [results, errors], like RG.PYEXECUTE's);
  - registers: KeysReader on `set` events of `name:*` keys, which writes
    `hello:<name>` = `Hello, <value>!` for every write.

A miniature of the RedisGears API sits on top of the raw bindings: records are decoded from
the pre-order node lists of wit/gears.wit ("Encodings") into Python objects (UTF-8 bytes become
`str`, as RedisGears' readers give them) and results encoded back. Build:

    componentize-py -d wit -w gears componentize app -p examples/wasm/py-hello -o py_hello.wasm
"""

import componentize_py_types as cpt
from wit_world import exports
from wit_world.exports.function import CallKind
from wit_world.imports import builder, host, types

# --- records: pre-order node lists <-> Python objects ------------------------------------


def decode(nodes):
    """One tree of `types.Value` nodes -> a Python object; refuses malformed trees."""
    pos = 0

    def one(depth):
        nonlocal pos
        if pos >= len(nodes):
            raise ValueError("malformed tree: a container overruns the list")
        if depth > 1024:
            raise ValueError("malformed tree: nested too deep")
        n = nodes[pos]
        pos += 1
        if isinstance(n, types.Value_Null):
            return None
        if isinstance(n, (types.Value_Boolean, types.Value_Integer, types.Value_Float, types.Value_Text)):
            return n.value
        if isinstance(n, types.Value_BigInteger):
            return int(n.value)
        if isinstance(n, types.Value_Bytes):
            try:
                return n.value.decode("utf-8")
            except UnicodeDecodeError:
                return bytes(n.value)
        if isinstance(n, types.Value_List):
            return [one(depth + 1) for _ in range(n.value)]
        if isinstance(n, types.Value_Map):
            d = {}
            for _ in range(n.value):
                k = one(depth + 1)
                d[k] = one(depth + 1)
            return d
        raise ValueError("unknown node %r" % (n,))

    v = one(0)
    if pos != len(nodes):
        raise ValueError("malformed tree: nodes left over")
    return v


def encode(v, out=None):
    """A Python object -> one tree of `types.Value` nodes (tuples and sets as lists)."""
    out = [] if out is None else out
    if v is None:
        out.append(types.Value_Null())
    elif isinstance(v, bool):
        out.append(types.Value_Boolean(v))
    elif isinstance(v, int):
        if -(2**63) <= v < 2**63:
            out.append(types.Value_Integer(v))
        else:
            out.append(types.Value_BigInteger(str(v)))
    elif isinstance(v, float):
        out.append(types.Value_Float(v))
    elif isinstance(v, str):
        out.append(types.Value_Text(v))
    elif isinstance(v, (bytes, bytearray)):
        out.append(types.Value_Bytes(bytes(v)))
    elif isinstance(v, dict):
        out.append(types.Value_Map(len(v)))
        for k, x in v.items():
            encode(k, out)
            encode(x, out)
    elif isinstance(v, (list, tuple, set)):
        out.append(types.Value_List(len(v)))
        for x in v:
            encode(x, out)
    else:
        out.append(types.Value_Text(str(v)))
    return out


def reply_value(nodes):
    """A reply tree -> what RedisGears' `execute` returns (raises on an error reply)."""
    pos = 0

    def one():
        nonlocal pos
        n = nodes[pos]
        pos += 1
        if isinstance(n, types.ReplyNode_Nil):
            return None
        if isinstance(n, types.ReplyNode_Error):
            raise Exception(n.value)
        if isinstance(n, types.ReplyNode_Bulk):
            try:
                return n.value.decode("utf-8")
            except UnicodeDecodeError:
                return bytes(n.value)
        if isinstance(n, types.ReplyNode_Array):
            return [one() for _ in range(n.value)]
        return n.value

    return one()


def execute(*args):
    """RedisGears' `execute('SET', k, v)`."""
    argv = [a if isinstance(a, (bytes, bytearray)) else str(a).encode("utf-8") for a in args]
    return reply_value(host.execute([bytes(a) for a in argv]))


def log(msg):
    host.log(host.LogLevel.NOTICE, str(msg))


# --- a tiny GearsBuilder ----------------------------------------------------------------

CALLBACKS = []  # id -> (kind, function); rebuilt by replaying init on a fresh instance
REPLAYING = False
READY = False


def _cb(f):
    CALLBACKS.append(f)
    return builder.Callback(len(CALLBACKS) - 1, getattr(f, "__name__", "lambda"))


class GB:
    def __init__(self, reader="KeysReader", desc=None):
        self.reader = {
            "KeysReader": builder.ReaderKind.KEYS_READER,
            "KeysOnlyReader": builder.ReaderKind.KEYS_ONLY_READER,
            "StreamReader": builder.ReaderKind.STREAM_READER,
            "CommandReader": builder.ReaderKind.COMMAND_READER,
        }[reader]
        self.desc = desc
        self.steps = []

    def map(self, f):
        self.steps.append(builder.Step_Map(_cb(f)))
        return self

    def filter(self, f):
        self.steps.append(builder.Step_Filter(_cb(f)))
        return self

    def foreach(self, f):
        self.steps.append(builder.Step_Foreach(_cb(f)))
        return self

    def _plan(self):
        return builder.Plan(self.reader, self.desc, self.steps + [builder.Step_Collect()])

    def run(self, pattern="*"):
        if not REPLAYING:
            builder.run(self._plan(), builder.RunOptions(pattern, None, False, True, None, builder.Mode.ASYNC))

    def register(self, prefix="*", eventTypes=None, mode="async"):
        modes = {"async": builder.Mode.ASYNC, "async_local": builder.Mode.ASYNC_LOCAL, "sync": builder.Mode.SYNC}
        opts = builder.RegisterOptions(
            modes[mode], prefix, eventTypes, None, None, True, None, None, None, None, True,
            None, None, None, False, None, types.Limits(None, None, None, None))
        if not REPLAYING:
            builder.register(self._plan(), opts)


# --- the function -------------------------------------------------------------------------


def declare():
    GB().map(lambda r: r["value"].upper()).run("greeting:*")
    GB(desc="py-hello: hello:<name> on every SET of name:*") \
        .foreach(lambda r: execute("SET", "hello:" + r["key"][len("name:"):], "Hello, %s!" % r["value"])) \
        .register(prefix="name:*", eventTypes=["set"])


def _init(replay):
    global REPLAYING, READY
    CALLBACKS.clear()
    REPLAYING = replay
    try:
        declare()
    finally:
        REPLAYING = False
    READY = True


def _one(req):
    f = CALLBACKS[req.callback]
    args = [decode(a) for a in req.args]
    if req.kind == CallKind.MAP:
        return [encode(f(args[0]))]
    if req.kind == CallKind.FILTER:
        return [[types.Value_Boolean(bool(f(args[0])))]]
    if req.kind == CallKind.FOREACH:
        f(args[0])
        return []
    raise Exception("py-hello: callback %d cannot serve %s" % (req.callback, req.kind))


class Function(exports.Function):
    def init(self, source):
        try:
            _init(False)
        except cpt.Err:
            raise
        except Exception as e:
            raise cpt.Err(str(e))

    def call(self, requests):
        if not READY:
            _init(True)  # a fresh instance of the pool: rebuild the callback table
        out = []
        for req in requests:
            try:
                out.append(cpt.Ok(_one(req)))
            except Exception as e:
                out.append(cpt.Err(types.Failure_Error("%s: %s" % (type(e).__name__, e))))
        return out
