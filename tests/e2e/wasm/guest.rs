//! Test guests: WebAssembly components built in the tests from WAT and `wit/gears.wit` (with
//! the `wat`, `wit-parser` and `wit-component` crates), so no wasm toolchain is needed.
//!
//! A guest is a core module with a bump allocator, an `init` that makes the builder calls of
//! [`Guest::run`] / [`Guest::register`] (their arguments are laid out in a data segment by
//! [`Image`], following the canonical ABI), and a `call` that dispatches each request to a
//! callback function by id. Callbacks come from [`Cb`], a small library of behaviours (return
//! the record's key, count, spin, grow memory, run a command, ...).

use std::fmt::Write as _;

/// The contract, as the host compiles it.
pub const WIT: &str = include_str!("../../../wit/gears.wit");

/// Where static data starts (below: return areas).
const DATA: u32 = 1024;
/// Where the heap starts (page 1).
const HEAP: u32 = 65536;
/// Return area of builder calls.
const RET: u32 = 512;
/// Return area of `init`.
const INIT_RET: u32 = 256;
/// Scratch for `execute`'s return pointer.
const EXEC_RET: u32 = 768;

/// Readers (enum order of `reader-kind`).
#[derive(Debug, Clone, Copy)]
#[allow(dead_code, reason = "the full enum of the contract")]
pub enum Reader {
    /// keys-reader
    Keys = 0,
    /// keys-only-reader
    KeysOnly = 1,
    /// stream-reader
    Stream = 2,
    /// generator-reader
    Generator = 3,
    /// shards-id-reader
    Shards = 4,
    /// command-reader
    Command = 5,
}

/// Modes (enum order of `mode`).
#[derive(Debug, Clone, Copy)]
#[allow(dead_code, reason = "the full enum of the contract")]
pub enum Mode {
    /// async
    Async = 0,
    /// async-local
    AsyncLocal = 1,
    /// sync
    Sync = 2,
}

/// Steps (variant order of `step`); callbacks are ids.
#[derive(Debug, Clone)]
#[allow(dead_code, reason = "the full variant of the contract")]
pub enum Step {
    /// map
    Map(u32),
    /// flat-map
    FlatMap(u32),
    /// filter
    Filter(u32),
    /// foreach
    Foreach(u32),
    /// accumulate
    Accumulate(u32),
    /// local-group-by
    LocalGroupBy(u32, u32),
    /// group-by
    GroupBy(u32, u32),
    /// batch-group-by
    BatchGroupBy(u32, u32),
    /// repartition
    Repartition(u32),
    /// collect
    Collect,
    /// limit(length, offset)
    Limit(u64, u64),
}

/// A plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Reader.
    pub reader: Reader,
    /// Description.
    pub desc: Option<String>,
    /// Steps.
    pub steps: Vec<Step>,
}

/// `run-options`.
#[derive(Debug, Clone)]
pub struct RunOpts {
    /// pattern
    pub pattern: Option<String>,
    /// generator callback id
    pub generator: Option<u32>,
    /// read-value
    pub read_value: bool,
}

impl Default for RunOpts {
    fn default() -> Self {
        RunOpts {
            pattern: None,
            generator: None,
            read_value: true,
        }
    }
}

/// `register-options` (the fields the tests use).
#[derive(Debug, Clone)]
pub struct RegOpts {
    /// mode
    pub mode: Mode,
    /// prefix
    pub prefix: Option<String>,
    /// event-types
    pub event_types: Option<Vec<String>>,
    /// trigger
    pub trigger: Option<String>,
    /// limits.fuel
    pub fuel: Option<u64>,
    /// limits.max-breaches
    pub max_breaches: Option<u32>,
}

impl Default for RegOpts {
    fn default() -> Self {
        RegOpts {
            mode: Mode::Async,
            prefix: None,
            event_types: None,
            trigger: None,
            fuel: None,
            max_breaches: None,
        }
    }
}

/// Callback behaviours. Each gets `(args, nargs, out)`: the request's arguments (a list of
/// `data`, 8 bytes each) and where to write its `result<list<data>, failure>`.
#[derive(Debug, Clone)]
#[allow(dead_code, reason = "a library: each test uses some")]
pub enum Cb {
    /// Returns its first argument.
    Identity,
    /// Returns the `key` field of a KeysReader record (node 4).
    Key,
    /// Returns the `type` field of a KeysReader record (node 6).
    Type,
    /// accumulate: `acc + 1` (acc is args[0]).
    Count,
    /// accumulate-by-key: `acc + 1` (acc is args[1]).
    CountByKey,
    /// reduce: the number of records in args[1] (a list).
    ListLen,
    /// filter: whether the record's type (node 6) is `string`.
    IsString,
    /// Returns `[]` (foreach).
    Nothing,
    /// Loops forever.
    Spin,
    /// Grows memory by 1 MiB pages forever.
    Grow,
    /// Recurses forever.
    Recurse,
    /// Allocates `n` bytes and returns them as one bytes value.
    Alloc(u32),
    /// Returns a list whose length points far outside memory.
    BogusList,
    /// Runs the CommandReader record's arguments (after the trigger name) as a command and
    /// returns the reply as data.
    Exec,
    /// Calls `execute(["PING"])` forever.
    PingLoop,
    /// `SET bin <bytes>`, `GET bin`, returns the GET reply as data.
    Binary(Vec<u8>),
    /// `SET <target> <record key>`, returns `[]`.
    SetKey(String),
    /// `INCR <the record's key>` (a self-triggering write), returns `[]`.
    IncrOwnKey,
    /// Fails with `failure::error(text)`.
    Fail(String),
    /// Fails with `failure::pause(text)`.
    Pause(String),
    /// generate: yields 1, 2, ..., n (one record per call), then ends.
    Generate(i64),
    /// Panics the host? No: calls `log` at warning level with the text, returns `[]`.
    Log(String),
    /// Returns `execution-id()` as text (or null).
    ExecId,
    /// CPU-bound (benchmarks): `n` steps of a 64-bit LCG, `n` the integer record args[0];
    /// returns the final state. One multiply-add chain per iteration.
    Lcg,
    /// CPU-bound and branchy (benchmarks): the total Collatz steps of 1..=n, `n` the integer
    /// record args[0].
    Collatz,
}

/// A guest: its callbacks by id and what its `init` declares.
#[derive(Debug, Clone, Default)]
pub struct Guest {
    /// Callbacks by id.
    pub callbacks: Vec<(u32, Cb)>,
    /// `run()`.
    pub run: Option<(Plan, RunOpts)>,
    /// `register()` calls.
    pub register: Vec<(Plan, RegOpts)>,
    /// `init` fails with this text.
    pub init_error: Option<String>,
}

/// A memory image laid out at [`DATA`] (the canonical ABI's in-memory layouts).
#[derive(Debug)]
pub struct Image {
    buf: Vec<u8>,
}

impl Image {
    fn new() -> Image {
        Image { buf: Vec::new() }
    }

    fn addr(&self) -> u32 {
        DATA + u32::try_from(self.buf.len()).expect("image fits")
    }

    fn alloc(&mut self, size: u32, align: u32) -> u32 {
        while !self.addr().is_multiple_of(align) {
            self.buf.push(0);
        }
        let p = self.addr();
        self.buf.resize(self.buf.len() + size as usize, 0);
        p
    }

    fn at(&mut self, addr: u32) -> &mut [u8] {
        &mut self.buf[(addr - DATA) as usize..]
    }

    fn w8(&mut self, addr: u32, v: u8) {
        self.at(addr)[0] = v;
    }

    fn w32(&mut self, addr: u32, v: u32) {
        self.at(addr)[..4].copy_from_slice(&v.to_le_bytes());
    }

    fn w64(&mut self, addr: u32, v: u64) {
        self.at(addr)[..8].copy_from_slice(&v.to_le_bytes());
    }

    /// Static bytes; returns (ptr, len).
    pub fn bytes(&mut self, b: &[u8]) -> (u32, u32) {
        let p = self.alloc(u32::try_from(b.len()).expect("small"), 1);
        self.at(p)[..b.len()].copy_from_slice(b);
        (p, u32::try_from(b.len()).expect("small"))
    }

    fn string_at(&mut self, at: u32, s: &str) {
        let (p, l) = self.bytes(s.as_bytes());
        self.w32(at, p);
        self.w32(at + 4, l);
    }

    fn opt_string(&mut self, at: u32, s: Option<&str>) {
        if let Some(s) = s {
            self.w8(at, 1);
            self.string_at(at + 4, s);
        }
    }

    fn callback(&mut self, at: u32, id: u32) {
        self.w32(at, id);
        self.string_at(at + 4, &format!("cb{id}"));
    }

    fn opt_callback(&mut self, at: u32, id: Option<u32>) {
        if let Some(id) = id {
            self.w8(at, 1);
            self.callback(at + 4, id);
        }
    }

    fn opt_strings(&mut self, at: u32, v: Option<&[String]>) {
        if let Some(v) = v {
            self.w8(at, 1);
            let list = self.alloc(8 * u32::try_from(v.len()).expect("small"), 4);
            for (i, s) in v.iter().enumerate() {
                self.string_at(list + 8 * i as u32, s);
            }
            self.w32(at + 4, list);
            self.w32(at + 8, u32::try_from(v.len()).expect("small"));
        }
    }

    fn plan(&mut self, at: u32, p: &Plan) {
        self.w8(at, p.reader as u8);
        self.opt_string(at + 4, p.desc.as_deref());
        let n = u32::try_from(p.steps.len()).expect("small");
        let list = self.alloc(32 * n.max(1), 8);
        for (i, s) in p.steps.iter().enumerate() {
            let e = list + 32 * i as u32;
            let (tag, a, b): (u8, Option<u32>, Option<u32>) = match s {
                Step::Map(c) => (0, Some(*c), None),
                Step::FlatMap(c) => (1, Some(*c), None),
                Step::Filter(c) => (2, Some(*c), None),
                Step::Foreach(c) => (3, Some(*c), None),
                Step::Accumulate(c) => (4, Some(*c), None),
                Step::LocalGroupBy(x, y) => (5, Some(*x), Some(*y)),
                Step::GroupBy(x, y) => (6, Some(*x), Some(*y)),
                Step::BatchGroupBy(x, y) => (7, Some(*x), Some(*y)),
                Step::Repartition(c) => (8, Some(*c), None),
                Step::Collect => (9, None, None),
                Step::Limit(len, off) => {
                    self.w8(e, 10);
                    self.w64(e + 8, *len);
                    self.w64(e + 16, *off);
                    continue;
                }
            };
            self.w8(e, tag);
            if let Some(a) = a {
                self.callback(e + 8, a);
            }
            if let Some(b) = b {
                self.callback(e + 20, b);
            }
        }
        self.w32(at + 16, list);
        self.w32(at + 20, n);
    }

    /// The arguments of `builder.run` (tuple<plan, run-options>, 72 bytes).
    fn run_args(&mut self, p: &Plan, o: &RunOpts) -> u32 {
        let at = self.alloc(72, 8);
        self.plan(at, p);
        self.opt_string(at + 24, o.pattern.as_deref());
        self.opt_callback(at + 36, o.generator);
        self.w8(at + 53, u8::from(o.read_value));
        at
    }

    /// The arguments of `builder.register` (tuple<plan, register-options>, 248 bytes).
    fn register_args(&mut self, p: &Plan, o: &RegOpts) -> u32 {
        let at = self.alloc(248, 8);
        self.plan(at, p);
        let r = at + 24;
        self.w8(r, o.mode as u8);
        self.opt_string(r + 4, o.prefix.as_deref());
        self.opt_strings(r + 16, o.event_types.as_deref());
        self.w8(r + 52, 1); // read-value
        self.w8(r + 104, 1); // trim-stream
        self.opt_string(r + 108, o.trigger.as_deref());
        if let Some(f) = o.fuel {
            self.w8(r + 168, 1);
            self.w64(r + 176, f);
        }
        if let Some(m) = o.max_breaches {
            self.w8(r + 216, 1);
            self.w32(r + 220, m);
        }
        at
    }

    fn data_segment(&self) -> String {
        let mut s = format!("(data (i32.const {DATA}) \"");
        for b in &self.buf {
            let _ = write!(s, "\\{b:02x}");
        }
        s.push_str("\")");
        s
    }
}

/// The runtime part of every guest: allocator, result helpers, dispatch loop.
const KIT: &str = r#"
  (global $heap (mut i32) (i32.const HEAP))
  (func $alloc (param $size i32) (result i32) (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.div_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535)) (i32.const 65536)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))
  (func (export "cabi_realloc") (param $old i32) (param $oldsize i32) (param $align i32) (param $new i32) (result i32) (local $p i32)
    (local.set $p (call $alloc (local.get $new)))
    (if (local.get $oldsize) (then (memory.copy (local.get $p) (local.get $old) (local.get $oldsize))))
    (local.get $p))
  ;; result ok with one data (ptr, len)
  (func $ok_data (param $out i32) (param $d i32) (param $n i32) (local $e i32)
    (local.set $e (call $alloc (i32.const 8)))
    (i32.store (local.get $e) (local.get $d))
    (i32.store offset=4 (local.get $e) (local.get $n))
    (i32.store8 (local.get $out) (i32.const 0))
    (i32.store offset=4 (local.get $out) (local.get $e))
    (i32.store offset=8 (local.get $out) (i32.const 1)))
  (func $ok_none (param $out i32)
    (i32.store8 (local.get $out) (i32.const 0))
    (i32.store offset=4 (local.get $out) (i32.const 0))
    (i32.store offset=8 (local.get $out) (i32.const 0)))
  (func $node (param $tag i32) (result i32) (local $n i32)
    (local.set $n (call $alloc (i32.const 16)))
    (i32.store8 (local.get $n) (local.get $tag))
    (local.get $n))
  (func $ok_int (param $out i32) (param $v i64) (local $n i32)
    (local.set $n (call $node (i32.const 2)))
    (i64.store offset=8 (local.get $n) (local.get $v))
    (call $ok_data (local.get $out) (local.get $n) (i32.const 1)))
  (func $ok_bool (param $out i32) (param $v i32) (local $n i32)
    (local.set $n (call $node (i32.const 1)))
    (i32.store8 offset=8 (local.get $n) (local.get $v))
    (call $ok_data (local.get $out) (local.get $n) (i32.const 1)))
  (func $fail (param $out i32) (param $kind i32) (param $p i32) (param $l i32)
    (i32.store8 (local.get $out) (i32.const 1))
    (i32.store8 offset=4 (local.get $out) (local.get $kind))
    (i32.store offset=8 (local.get $out) (local.get $p))
    (i32.store offset=12 (local.get $out) (local.get $l)))
  ;; the integer of a one-node data (0 when null)
  (func $int_of (param $d i32) (result i64)
    (if (result i64) (i32.eq (i32.load8_u (local.get $d)) (i32.const 2))
      (then (i64.load offset=8 (local.get $d)))
      (else (i64.const 0))))
  ;; bytes equality
  (func $eq (param $a i32) (param $al i32) (param $b i32) (param $bl i32) (result i32) (local $i i32)
    (if (i32.ne (local.get $al) (local.get $bl)) (then (return (i32.const 0))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $al)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.load8_u (i32.add (local.get $b) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.const 1))
  ;; runs a command (args: list<list<u8>> at $a, $n entries); returns the reply as data (tags
  ;; rewritten in place: reply-node and value share their layout) as (ptr, len) at EXEC_RET.
  (func $exec (param $a i32) (param $n i32) (local $p i32) (local $len i32) (local $i i32) (local $node i32)
    (call $execute (local.get $a) (local.get $n) (i32.const EXEC_RET))
    (local.set $p (i32.load (i32.const EXEC_RET)))
    (local.set $len (i32.load offset=4 (i32.const EXEC_RET)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $node (i32.add (local.get $p) (i32.mul (local.get $i) (i32.const 16))))
      (i32.store8 (local.get $node) (i32.load8_u offset=TAGMAP (i32.load8_u (local.get $node))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
  (func (export "gears:function/function@0.1.0#call") (param $reqs i32) (param $n i32) (result i32)
    (local $out i32) (local $i i32) (local $req i32) (local $ret i32)
    (local.set $out (call $alloc (i32.mul (local.get $n) (i32.const 16))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $req (i32.add (local.get $reqs) (i32.mul (local.get $i) (i32.const 16))))
      (call $dispatch
        (i32.load (local.get $req))
        (i32.load offset=8 (local.get $req))
        (i32.load offset=12 (local.get $req))
        (i32.add (local.get $out) (i32.mul (local.get $i) (i32.const 16))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.set $ret (call $alloc (i32.const 8)))
    (i32.store (local.get $ret) (local.get $out))
    (i32.store offset=4 (local.get $ret) (local.get $n))
    (local.get $ret))
  (func $recurse (param $x i64) (result i64)
    (i64.add (call $recurse (i64.add (local.get $x) (i64.const 1))) (i64.const 1)))
  (func (export "cabi_post_gears:function/function@0.1.0#call") (param i32)
    (global.set $heap (i32.const HEAP)))
"#;

impl Guest {
    /// The core module's text.
    pub fn wat(&self) -> String {
        let mut img = Image::new();
        let tagmap = img.bytes(&[0, 2, 4, 1, 6, 6, 5, 7]).0;
        let mut funcs = String::new();
        let mut dispatch = String::from(
            "(func $dispatch (param $id i32) (param $args i32) (param $nargs i32) (param $out i32)\n",
        );
        for (id, cb) in &self.callbacks {
            let body = cb.body(&mut img);
            let _ = writeln!(
                funcs,
                "(func $cb{id} (param $args i32) (param $nargs i32) (param $out i32) {body})"
            );
            let _ = writeln!(
                dispatch,
                "  (if (i32.eq (local.get $id) (i32.const {id})) (then (call $cb{id} (local.get $args) (local.get $nargs) (local.get $out)) (return)))"
            );
        }
        let (up, ul) = img.bytes(b"unknown callback");
        let _ = writeln!(
            dispatch,
            "  (call $fail (local.get $out) (i32.const 0) (i32.const {up}) (i32.const {ul})))"
        );
        let mut init = String::from(
            "(func (export \"gears:function/function@0.1.0#init\") (param i32 i32) (result i32)\n",
        );
        if let Some((p, o)) = &self.run {
            let a = img.run_args(p, o);
            let _ = writeln!(init, "  (call $run (i32.const {a}) (i32.const {RET}))");
        }
        for (p, o) in &self.register {
            let a = img.register_args(p, o);
            let _ = writeln!(init, "  (call $register (i32.const {a}) (i32.const {RET}))");
        }
        match &self.init_error {
            Some(e) => {
                let (p, l) = img.bytes(e.as_bytes());
                let _ = writeln!(
                    init,
                    "  (i32.store8 (i32.const {INIT_RET}) (i32.const 1)) (i32.store (i32.const {}) (i32.const {p})) (i32.store (i32.const {}) (i32.const {l}))",
                    INIT_RET + 4,
                    INIT_RET + 8
                );
            }
            None => {
                let _ = writeln!(init, "  (i32.store8 (i32.const {INIT_RET}) (i32.const 0))");
            }
        }
        let _ = writeln!(init, "  (i32.const {INIT_RET}))");
        assert!(img.addr() < HEAP, "static data fits below the heap");
        let kit = KIT
            .replace("EXEC_RET", &EXEC_RET.to_string())
            .replace("TAGMAP", &tagmap.to_string())
            .replace("(i32.const HEAP)", &format!("(i32.const {HEAP})"));
        format!(
            r#"(module
  (import "gears:function/builder@0.1.0" "run" (func $run (param i32 i32)))
  (import "gears:function/builder@0.1.0" "register" (func $register (param i32 i32)))
  (import "gears:function/host@0.1.0" "execute" (func $execute (param i32 i32 i32)))
  (import "gears:function/host@0.1.0" "log" (func $log (param i32 i32 i32)))
  (import "gears:function/host@0.1.0" "execution-id" (func $execution_id (param i32)))
  (memory (export "memory") 2)
  {kit}
  {funcs}
  {dispatch}
  {init}
  {data}
)"#,
            data = img.data_segment()
        )
    }

    /// The component.
    pub fn component(&self) -> Vec<u8> {
        component_from(&self.wat(), WIT, "gears")
    }
}

/// A component from a core module's text and a WIT world.
pub fn component_from(wat: &str, wit: &str, world: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("gears.wit", wit).expect("WIT parses");
    let world = resolve
        .select_world(&[pkg], Some(world))
        .expect("world exists");
    let mut module = wat::parse_str(wat).unwrap_or_else(|e| panic!("WAT: {e}\n{wat}"));
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("component encodes")
}

impl Cb {
    /// The callback function's body (static data goes into `img`).
    fn body(&self, img: &mut Image) -> String {
        match self {
            Cb::Identity => "(call $ok_data (local.get $out) (i32.load (local.get $args)) (i32.load offset=4 (local.get $args)))".into(),
            Cb::Key => "(call $ok_data (local.get $out) (i32.add (i32.load (local.get $args)) (i32.const 64)) (i32.const 1))".into(),
            Cb::Type => "(call $ok_data (local.get $out) (i32.add (i32.load (local.get $args)) (i32.const 96)) (i32.const 1))".into(),
            Cb::Count => "(call $ok_int (local.get $out) (i64.add (call $int_of (i32.load (local.get $args))) (i64.const 1)))".into(),
            Cb::CountByKey => "(call $ok_int (local.get $out) (i64.add (call $int_of (i32.load offset=8 (local.get $args))) (i64.const 1)))".into(),
            Cb::ListLen => "(call $ok_int (local.get $out) (i64.extend_i32_u (i32.load offset=8 (i32.load offset=8 (local.get $args)))))".into(),
            Cb::IsString => {
                let (p, l) = img.bytes(b"string");
                format!(
                    "(local $t i32) (local.set $t (i32.add (i32.load (local.get $args)) (i32.const 96)))
                     (call $ok_bool (local.get $out) (call $eq (i32.load offset=8 (local.get $t)) (i32.load offset=12 (local.get $t)) (i32.const {p}) (i32.const {l})))"
                )
            }
            Cb::Nothing => "(call $ok_none (local.get $out))".into(),
            Cb::Spin => "(loop $l (br $l))".into(),
            Cb::Grow => "(loop $l (drop (memory.grow (i32.const 16))) (br $l))".into(),
            Cb::Recurse => "(drop (call $recurse (i64.const 0)))".into(),
            Cb::Alloc(n) => format!(
                "(local $b i32) (local $v i32)
                 (local.set $b (call $alloc (i32.const {n})))
                 (local.set $v (call $node (i32.const 5)))
                 (i32.store offset=8 (local.get $v) (local.get $b))
                 (i32.store offset=12 (local.get $v) (i32.const {n}))
                 (call $ok_data (local.get $out) (local.get $v) (i32.const 1))"
            ),
            Cb::BogusList => "(i32.store8 (local.get $out) (i32.const 0)) (i32.store offset=4 (local.get $out) (i32.const 16)) (i32.store offset=8 (local.get $out) (i32.const 0x7fffffff))".into(),
            Cb::Exec => {
                // record: [list(n), bytes(name), bytes(a1), ...]: args = nodes 2..=n, each a
                // list<u8> (ptr, len) taken from the node's payload.
                "(local $r i32) (local $n i32) (local $a i32) (local $i i32)
                 (local.set $r (i32.load (local.get $args)))
                 (local.set $n (i32.sub (i32.load offset=8 (local.get $r)) (i32.const 1)))
                 (local.set $a (call $alloc (i32.mul (local.get $n) (i32.const 8))))
                 (block $done (loop $l
                   (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                   (i64.store (i32.add (local.get $a) (i32.mul (local.get $i) (i32.const 8)))
                     (i64.load offset=8 (i32.add (local.get $r) (i32.mul (i32.add (local.get $i) (i32.const 2)) (i32.const 16)))))
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br $l)))
                 (call $exec (local.get $a) (local.get $n))
                 (call $ok_data (local.get $out) (i32.load (i32.const EXEC_RET)) (i32.load offset=4 (i32.const EXEC_RET)))"
                    .replace("EXEC_RET", &EXEC_RET.to_string())
            }
            Cb::PingLoop => {
                let (p, l) = img.bytes(b"PING");
                let list = img.alloc(8, 4);
                img.w32(list, p);
                img.w32(list + 4, l);
                format!("(loop $l (call $exec (i32.const {list}) (i32.const 1)) (br $l))")
            }
            Cb::Binary(bytes) => {
                let set = cmd(img, &[b"SET", b"bin", bytes]);
                let get = cmd(img, &[b"GET", b"bin"]);
                format!(
                    "(call $exec (i32.const {set}) (i32.const 3))
                     (call $exec (i32.const {get}) (i32.const 2))
                     (call $ok_data (local.get $out) (i32.load (i32.const {EXEC_RET})) (i32.load offset=4 (i32.const {EXEC_RET})))"
                )
            }
            Cb::SetKey(target) => {
                let (sp, sl) = img.bytes(b"SET");
                let (tp, tl) = img.bytes(target.as_bytes());
                format!(
                    "(local $a i32)
                     (local.set $a (call $alloc (i32.const 24)))
                     (i32.store (local.get $a) (i32.const {sp})) (i32.store offset=4 (local.get $a) (i32.const {sl}))
                     (i32.store offset=8 (local.get $a) (i32.const {tp})) (i32.store offset=12 (local.get $a) (i32.const {tl}))
                     (i64.store offset=16 (local.get $a) (i64.load offset=8 (i32.add (i32.load (local.get $args)) (i32.const 64))))
                     (call $exec (local.get $a) (i32.const 3))
                     (call $ok_none (local.get $out))"
                )
            }
            Cb::IncrOwnKey => {
                let (ip, il) = img.bytes(b"INCR");
                format!(
                    "(local $a i32)
                     (local.set $a (call $alloc (i32.const 16)))
                     (i32.store (local.get $a) (i32.const {ip})) (i32.store offset=4 (local.get $a) (i32.const {il}))
                     (i64.store offset=8 (local.get $a) (i64.load offset=8 (i32.add (i32.load (local.get $args)) (i32.const 64))))
                     (call $exec (local.get $a) (i32.const 2))
                     (call $ok_none (local.get $out))"
                )
            }
            Cb::Fail(t) => {
                let (p, l) = img.bytes(t.as_bytes());
                format!("(call $fail (local.get $out) (i32.const 0) (i32.const {p}) (i32.const {l}))")
            }
            Cb::Pause(t) => {
                let (p, l) = img.bytes(t.as_bytes());
                format!("(call $fail (local.get $out) (i32.const 2) (i32.const {p}) (i32.const {l}))")
            }
            Cb::Generate(n) => {
                // The position lives in memory at a fixed cell (kept across calls).
                let cell = img.alloc(8, 8);
                format!(
                    "(local $v i64)
                     (local.set $v (i64.add (i64.load (i32.const {cell})) (i64.const 1)))
                     (if (i64.gt_s (local.get $v) (i64.const {n}))
                       (then (call $ok_none (local.get $out)) (return)))
                     (i64.store (i32.const {cell}) (local.get $v))
                     (call $ok_int (local.get $out) (local.get $v))"
                )
            }
            Cb::Log(t) => {
                let (p, l) = img.bytes(t.as_bytes());
                format!("(call $log (i32.const 3) (i32.const {p}) (i32.const {l})) (call $ok_none (local.get $out))")
            }
            Cb::Lcg => "(local $n i64) (local $x i64)
                 (local.set $n (call $int_of (i32.load (local.get $args))))
                 (local.set $x (i64.const 1))
                 (block $done (loop $l
                   (br_if $done (i64.eqz (local.get $n)))
                   (local.set $x (i64.add (i64.mul (local.get $x) (i64.const 6364136223846793005)) (i64.const 1442695040888963407)))
                   (local.set $n (i64.sub (local.get $n) (i64.const 1)))
                   (br $l)))
                 (call $ok_int (local.get $out) (local.get $x))"
                .into(),
            Cb::Collatz => "(local $n i64) (local $i i64) (local $x i64) (local $steps i64)
                 (local.set $n (call $int_of (i32.load (local.get $args))))
                 (local.set $i (i64.const 1))
                 (block $done (loop $outer
                   (br_if $done (i64.gt_u (local.get $i) (local.get $n)))
                   (local.set $x (local.get $i))
                   (block $d2 (loop $inner
                     (br_if $d2 (i64.le_u (local.get $x) (i64.const 1)))
                     (if (i64.eqz (i64.and (local.get $x) (i64.const 1)))
                       (then (local.set $x (i64.shr_u (local.get $x) (i64.const 1))))
                       (else (local.set $x (i64.add (i64.mul (local.get $x) (i64.const 3)) (i64.const 1)))))
                     (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
                     (br $inner)))
                   (local.set $i (i64.add (local.get $i) (i64.const 1)))
                   (br $outer)))
                 (call $ok_int (local.get $out) (local.get $steps))"
                .into(),
            Cb::ExecId => format!(
                "(local $v i32)
                 (call $execution_id (i32.const {EXEC_RET}))
                 (if (i32.eqz (i32.load8_u (i32.const {EXEC_RET})))
                   (then (call $ok_data (local.get $out) (call $node (i32.const 0)) (i32.const 1)) (return)))
                 (local.set $v (call $node (i32.const 6)))
                 (i32.store offset=8 (local.get $v) (i32.load (i32.const {})))
                 (i32.store offset=12 (local.get $v) (i32.load (i32.const {})))
                 (call $ok_data (local.get $out) (local.get $v) (i32.const 1))",
                EXEC_RET + 4,
                EXEC_RET + 8
            ),
        }
    }
}

/// A static `list<list<u8>>` command; returns its address.
fn cmd(img: &mut Image, args: &[&[u8]]) -> u32 {
    let parts: Vec<(u32, u32)> = args.iter().map(|a| img.bytes(a)).collect();
    let list = img.alloc(8 * u32::try_from(parts.len()).expect("small"), 4);
    for (i, (p, l)) in parts.iter().enumerate() {
        img.w32(list + 8 * i as u32, *p);
        img.w32(list + 8 * i as u32 + 4, *l);
    }
    list
}

/// A module whose function count makes it slow to compile (`n` functions with some
/// arithmetic each), as a component with the gears world and nothing declared.
pub fn big_guest(n: usize) -> Vec<u8> {
    let g = Guest::default();
    let mut wat = g.wat();
    let mut extra = String::new();
    for i in 0..n {
        let _ = writeln!(
            extra,
            "(func $f{i} (param $x i64) (result i64) (local $y i64)
               (local.set $y (i64.mul (local.get $x) (i64.const {k})))
               (local.set $y (i64.xor (local.get $y) (i64.shr_u (local.get $y) (i64.const 13))))
               (local.set $y (i64.add (local.get $y) (i64.rotl (local.get $x) (i64.const 7))))
               (if (result i64) (i64.gt_u (local.get $y) (i64.const 1000))
                 (then (i64.sub (local.get $y) (local.get $x)))
                 (else (i64.mul (local.get $y) (local.get $y)))))",
            k = i * 2 + 1
        );
    }
    // A table keeps every function reachable.
    let _ = write!(extra, "(table {n} funcref) (elem (i32.const 0) func");
    for i in 0..n {
        let _ = write!(extra, " $f{i}");
    }
    extra.push(')');
    let end = wat.rfind(')').expect("module closes");
    wat.insert_str(end, &extra);
    component_from(&wat, WIT, "gears")
}
