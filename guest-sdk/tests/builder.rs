//! GearsBuilder plans, the compositions (against RedisGears' Python results) and dispatch,
//! through the mock host and the local engine.

use gears_guest::bindings::exports::gears::function::function::CallKind;
use gears_guest::testing::{self, Declared, wit};
use gears_guest::{
    Error, Failure, GearsBuilder, LogLevel, Mode, Reader, RegisterOptions, Reply, RunOptions,
    Value, cmd, execute,
};

fn kv(key: &str, value: &str) -> Value {
    Value::map([
        ("key", Value::Bytes(key.into())),
        ("value", Value::Bytes(value.into())),
        ("type", Value::Text("string".into())),
        ("event", Value::Null),
    ])
}

fn values(items: &[&str]) -> Vec<Value> {
    items
        .iter()
        .map(|s| Value::Bytes(s.as_bytes().to_vec()))
        .collect()
}

fn run_one(init: fn() -> Result<(), Error>, input: Vec<Value>) -> testing::Output {
    let declared = testing::init(init).expect("init succeeds");
    assert_eq!(declared.len(), 1, "one plan declared");
    testing::run(&declared[0], input)
}

fn strs(out: &testing::Output) -> Vec<String> {
    out.results.iter().map(Value::py_str).collect()
}

fn sorted_strs(out: &testing::Output) -> Vec<String> {
    let mut v = strs(out);
    v.sort();
    v
}

#[test]
fn init_declares_reader_steps_and_run_options() {
    let declared = testing::init(|| {
        GearsBuilder::new(Reader::Keys)
            .desc("d")
            .map(|r| r)
            .filter(|_| true)
            .limit(3, 1)
            .run(
                RunOptions::new()
                    .pattern("a:*")
                    .no_scan(true)
                    .read_value(false),
            )
    })
    .expect("init");
    let Declared::Run(plan, o) = &declared[0] else {
        panic!("a run")
    };
    assert!(matches!(plan.reader, wit::ReaderKind::KeysReader));
    assert_eq!(plan.description.as_deref(), Some("d"));
    assert!(matches!(
        plan.steps.as_slice(),
        [wit::Step::Map(m), wit::Step::Filter(f), wit::Step::Limit((3, 1)), wit::Step::Collect]
            if m.id == 0 && f.id == 1 && m.name.starts_with("map: ")
    ));
    assert_eq!(o.pattern.as_deref(), Some("a:*"));
    assert!(o.no_scan && !o.read_value && o.generator.is_none());
}

#[test]
fn register_options_reach_the_host() {
    let declared = testing::init(|| {
        GearsBuilder::new(Reader::Stream).foreach(|_| ()).register(
            RegisterOptions::new()
                .prefix("s:*")
                .mode(Mode::Sync)
                .batch(10)
                .duration_ms(50)
                .on_failed(gears_guest::OnFailed::Retry)
                .trim_stream(false)
                .fuel(1000)
                .max_breaches(2)
                .on_registered(|| ())
                .collect(false),
        )?;
        GearsBuilder::new(Reader::Keys).register(
            RegisterOptions::new()
                .event_types(["set", "hset"])
                .key_types(["string"])
                .commands(["SET"]),
        )
    })
    .expect("init");
    assert_eq!(declared.len(), 2);
    let Declared::Register(plan, o) = &declared[0] else {
        panic!("a registration")
    };
    assert!(matches!(plan.reader, wit::ReaderKind::StreamReader));
    assert!(matches!(plan.steps.as_slice(), [wit::Step::Foreach(_)]));
    assert_eq!(o.prefix.as_deref(), Some("s:*"));
    assert!(matches!(o.mode, Mode::Sync));
    assert_eq!((o.batch, o.duration_ms), (Some(10), Some(50)));
    assert!(matches!(o.on_failed, Some(gears_guest::OnFailed::Retry)));
    assert!(!o.trim_stream);
    assert_eq!(
        (o.limits.fuel, o.limits.max_breaches),
        (Some(1000), Some(2))
    );
    assert_eq!(o.on_registered.as_ref().map(|c| c.id), Some(1));
    let Declared::Register(_, o) = &declared[1] else {
        panic!("a registration")
    };
    assert_eq!(
        o.event_types,
        Some(vec!["set".to_owned(), "hset".to_owned()])
    );
    assert_eq!(o.key_types, Some(vec!["string".to_owned()]));
    assert_eq!(o.commands, Some(vec!["SET".to_owned()]));
    assert_eq!(
        testing::call_one(1, CallKind::OnRegistered, vec![]),
        Ok(vec![])
    );
}

#[test]
fn init_error_rejects_the_upload() {
    let err = testing::init(|| -> Result<(), Error> { Err(Error::Host("nope".into())) });
    assert_eq!(err.err().as_deref(), Some("nope"));
    // a second run() in one session is refused by the host
    let err = testing::init(|| {
        GearsBuilder::new(Reader::Keys).run(RunOptions::new())?;
        GearsBuilder::new(Reader::Keys).run(RunOptions::new())
    });
    assert_eq!(err.err().as_deref(), Some("only one run() per session"));
}

#[test]
fn count_gives_the_number_of_records_or_nothing() {
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .count()
            .run(RunOptions::new())
    };
    assert_eq!(
        run_one(init, values(&["a", "b", "c"])).results,
        vec![Value::Int(3)]
    );
    assert_eq!(run_one(init, vec![]).results, Vec::<Value>::new());
}

#[test]
fn count_by_matches_python_countby() {
    // GB().map(lambda r: r['value']).countby().run() over a, b, a
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .map(|r| r["value"].clone())
            .count_by(|r| r.clone())
            .run(RunOptions::new().convert_to_str(true))
    };
    let out = run_one(init, vec![kv("k1", "a"), kv("k2", "b"), kv("k3", "a")]);
    assert_eq!(
        sorted_strs(&out),
        ["{'key': 'a', 'value': 2}", "{'key': 'b', 'value': 1}"]
    );
}

#[test]
fn count_by_non_text_keys_use_python_repr() {
    // countby(lambda x: x["value"]) over ints 0/100 gives keys '0'/'100'; tuples their repr
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .count_by(|r| (r.as_i64().unwrap_or(0) % 2, Value::Text("x".into())))
            .run(RunOptions::new().convert_to_str(true))
    };
    let out = run_one(init, vec![Value::Int(1), Value::Int(2), Value::Int(3)]);
    // (Rust tuples are lists: Python would print a tuple key as "(0, 'x')")
    assert_eq!(
        sorted_strs(&out),
        [
            r#"{'key': "[0, 'x']", 'value': 1}"#,
            r#"{'key': "[1, 'x']", 'value': 2}"#
        ]
    );
}

#[test]
fn distinct_keeps_one_of_each() {
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .distinct()
            .run(RunOptions::new())
    };
    let out = run_one(
        init,
        vec![
            Value::Int(1),
            Value::Text("a".into()),
            Value::Float(1.0),
            Value::Bytes("a".into()),
        ],
    );
    assert_eq!(out.results.len(), 2);
    assert!(out.errors.is_empty());
    let out = run_one(init, vec![Value::list([1])]);
    assert_eq!(out.errors, ["TypeError: unhashable type: 'list'"]);
}

#[test]
fn avg_matches_python_avg() {
    // GB().map(lambda r: r['value']).avg().run() over '1', '2', '4.5'
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .map(|r| r["value"].clone())
            .avg()
            .run(RunOptions::new().convert_to_str(true))
    };
    assert_eq!(
        strs(&run_one(
            init,
            vec![kv("a", "1"), kv("b", "2"), kv("c", "4.5")]
        )),
        ["2.5"]
    );
    assert_eq!(
        strs(&run_one(init, vec![kv("a", "1"), kv("b", "3")])),
        ["2.0"]
    );
    assert!(run_one(init, vec![]).results.is_empty());
    let bad = run_one(init, vec![kv("a", "x")]);
    assert_eq!(
        bad.errors,
        ["ValueError: could not convert string to float: 'x'"]
    );
    // avg(lambda r: int(r['value'])) keeps integer sums until the division
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .avg_by(|r| r["value"].as_i64().ok_or("not an int"))
            .run(RunOptions::new())
    };
    assert_eq!(
        run_one(init, vec![kv("a", "1"), kv("b", "2")]).results,
        vec![Value::Float(1.5)]
    );
}

#[test]
fn sort_default_is_ascending_like_redisgears() {
    // GB().map(lambda x: x["type"]).sort().run() → ['hash', 'list', 'set', 'string', 'zset']
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .map(|r| r["type"].clone())
            .sort(true)
            .run(RunOptions::new())
    };
    let types = ["zset", "string", "hash", "set", "list"];
    let input = types
        .iter()
        .map(|t| Value::map([("type", Value::Text((*t).into()))]))
        .collect();
    assert_eq!(
        strs(&run_one(init, input)),
        ["hash", "list", "set", "string", "zset"]
    );
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .sort(false)
            .run(RunOptions::new())
    };
    assert_eq!(
        strs(&run_one(
            init,
            vec![Value::Int(2), Value::Int(3), Value::Int(1)]
        )),
        ["3", "2", "1"]
    );
    let out = run_one(init, vec![Value::Int(2), Value::Text("a".into())]);
    assert_eq!(out.errors.len(), 1);
}

#[test]
fn aggregate_with_shared_zero_matches_python() {
    // testAggregateWithSameZeroValue: zero {'sum': 0, 'mul': 1} over 1, 2, 3 →
    // {'sum': 6, 'mul': 6}
    fn step(a: Value, r: i64) -> Result<Value, Failure> {
        let sum = gears_guest::py::add(&a["sum"], &Value::Int(r))?;
        let mul = a["mul"].as_i64().unwrap_or(0) * r;
        Ok(Value::map([("sum", sum), ("mul", Value::Int(mul))]))
    }
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .map(|r| r["value"].as_i64().unwrap_or(0))
            .aggregate(
                Value::map([("sum", 0), ("mul", 1)]),
                |a, r| step(a, r.as_i64().unwrap_or(0)),
                |a, r| -> Result<Value, Failure> {
                    let sum = gears_guest::py::add(&a["sum"], &r["sum"])?;
                    let mul = a["mul"].as_i64().unwrap_or(0) * r["mul"].as_i64().unwrap_or(0);
                    Ok(Value::map([("sum", sum), ("mul", Value::Int(mul))]))
                },
            )
            .run(RunOptions::new().convert_to_str(true))
    };
    let out = run_one(init, vec![kv("a", "1"), kv("b", "2"), kv("c", "3")]);
    assert_eq!(strs(&out), ["{'sum': 6, 'mul': 6}"]);
}

#[test]
fn aggregate_by_matches_python_aggregateby() {
    // aggregateby(lambda r: r['value'], 0, lambda k, a, r: a + 1, lambda k, a, r: a + r)
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .aggregate_by(
                |r| r["value"].clone(),
                0,
                |_k, a, _r| gears_guest::py::add(&a, &Value::Int(1)),
                |_k, a, r| gears_guest::py::add(&a, &r),
            )
            .run(RunOptions::new().convert_to_str(true))
    };
    let out = run_one(init, vec![kv("1", "x"), kv("2", "y"), kv("3", "x")]);
    assert_eq!(
        sorted_strs(&out),
        ["{'key': 'x', 'value': 2}", "{'key': 'y', 'value': 1}"]
    );
}

#[test]
fn flat_map_limit_matches_test_limit_with_offset() {
    // LPUSH l 1 2 3 4 5; GB().flatmap(lambda x: x['value']).limit(1, 3): Python's flatmap emits
    // the list last to first (['4']); the wasm host keeps the guest's order, so it is ['2'].
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .flat_map(|r| r["value"].clone())
            .limit(1, 3)
            .run(RunOptions::new())
    };
    let list = Value::map([
        ("key", Value::Text("l".into())),
        ("value", Value::list(["5", "4", "3", "2", "1"])),
    ]);
    assert_eq!(strs(&run_one(init, vec![list])), ["2"]);
}

#[test]
fn batch_group_by_and_local_group_by_emit_key_value_records() {
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .batch_group_by(|r| r["value"].clone(), |k, rs| format!("{k}:{}", rs.len()))
            .run(RunOptions::new().convert_to_str(true))
    };
    let out = run_one(init, vec![kv("1", "x"), kv("2", "y"), kv("3", "x")]);
    // keys in reverse order of first appearance
    assert_eq!(
        strs(&out),
        [
            "{'key': 'y', 'value': 'y:1'}",
            "{'key': 'x', 'value': 'x:2'}"
        ]
    );
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .local_group_by(
                |r| r["value"].clone(),
                |_k, a, _r| a.as_i64().unwrap_or(0) + 10,
            )
            .repartition(|r| r["key"].clone())
            .run(RunOptions::new().convert_to_str(true))
    };
    let out = run_one(init, vec![kv("1", "x"), kv("2", "x")]);
    assert_eq!(strs(&out), ["{'key': 'x', 'value': 20}"]);
}

#[test]
fn generator_reader_yields_records_in_batches_per_execution() {
    let init = || {
        GearsBuilder::generator(|| (0..300).map(|i| i * 2))
            .filter(|r| r.as_i64().is_some_and(|i| i % 3 == 0))
            .count()
            .run(RunOptions::new())
    };
    let declared = testing::init(init).expect("init");
    let Declared::Run(plan, o) = &declared[0] else {
        panic!("a run")
    };
    assert!(matches!(plan.reader, wit::ReaderKind::GeneratorReader));
    let g = o.generator.as_ref().expect("a generator callback").id;
    assert_eq!(
        testing::run(&declared[0], vec![]).results,
        vec![Value::Int(100)]
    );

    // two executions interleaved keep their own positions
    testing::set_execution_id(Some("e1"));
    let first = testing::call_one(g, CallKind::Generate, vec![]).expect("batch");
    assert_eq!(first.len(), gears_guest::GENERATE_BATCH);
    testing::set_execution_id(Some("e2"));
    let other = testing::call_one(g, CallKind::Generate, vec![]).expect("batch");
    assert_eq!(other[0], Value::Int(0));
    testing::set_execution_id(Some("e1"));
    let second = testing::call_one(g, CallKind::Generate, vec![]).expect("batch");
    assert_eq!(
        second[0],
        Value::Int(2 * gears_guest::GENERATE_BATCH as i64)
    );
    let third = testing::call_one(g, CallKind::Generate, vec![]).expect("batch");
    assert_eq!(third.len(), 300 - 2 * gears_guest::GENERATE_BATCH);
    assert_eq!(testing::call_one(g, CallKind::Generate, vec![]), Ok(vec![]));
}

#[test]
fn generator_error_item_fails_the_call() {
    let init = || {
        GearsBuilder::generator(|| vec![Ok(Value::Int(1)), Err(Failure::error("boom"))])
            .run(RunOptions::new())
    };
    let out = run_one(init, vec![]);
    assert_eq!(out.errors, ["boom"]);
}

#[test]
fn generator_reader_without_generator_is_refused() {
    let err = testing::init(|| GearsBuilder::new(Reader::Generator).run(RunOptions::new()));
    assert!(err.is_err());
}

#[test]
fn failures_keep_their_kind() {
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .map(|r| -> Result<Value, Failure> {
                match r.as_str() {
                    Some("pause") => Err(Failure::pause("PAUSE wait")),
                    Some("flat") => Err(Failure::flat("as is")),
                    Some("err") => Err("plain".into()),
                    _ => Ok(r),
                }
            })
            .run(RunOptions::new())
    };
    testing::init(init).expect("init");
    let call = |s: &str| testing::call_one(0, CallKind::Map, vec![Value::Text(s.into())]);
    assert_eq!(call("pause"), Err(Failure::Pause("PAUSE wait".into())));
    assert_eq!(call("flat"), Err(Failure::Flat("as is".into())));
    assert_eq!(call("err"), Err(Failure::Error("plain".into())));
    assert_eq!(call("ok"), Ok(vec![Value::Text("ok".into())]));
}

#[test]
fn errors_of_any_display_type_become_error_failures() {
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .map(|r| r.to_text().parse::<i64>())
            .run(RunOptions::new())
    };
    let out = run_one(
        init,
        vec![Value::Text("12".into()), Value::Text("x".into())],
    );
    assert_eq!(out.results, vec![Value::Int(12)]);
    assert_eq!(out.errors, ["invalid digit found in string"]);
}

#[test]
fn call_batch_gives_one_outcome_per_request() {
    use gears_guest::bindings::exports::gears::function::function::Request;
    testing::init(|| {
        GearsBuilder::new(Reader::Keys)
            .map(|r| r.as_i64().map(|i| i + 1).ok_or("nan"))
            .filter(|r| r.is_truthy())
            .run(RunOptions::new())
    })
    .expect("init");
    let req = |callback, kind, v: Value| Request {
        callback,
        kind,
        args: vec![v.encode()],
    };
    let out = testing::call(vec![
        req(0, CallKind::Map, Value::Int(1)),
        req(0, CallKind::Map, Value::Null),
        req(1, CallKind::Filter, Value::Int(0)),
        req(1, CallKind::Map, Value::Int(0)),
        req(7, CallKind::Map, Value::Int(0)),
        Request {
            callback: 0,
            kind: CallKind::Map,
            args: vec![vec![gears_guest::Node::List(1)]],
        },
        Request {
            callback: 0,
            kind: CallKind::Map,
            args: vec![],
        },
    ]);
    assert_eq!(out.len(), 7);
    assert!(matches!(&out[0], Ok(d) if Value::decode(&d[0]) == Ok(Value::Int(2))));
    assert!(out[1].is_err());
    assert!(matches!(&out[2], Ok(d) if matches!(d[0][..], [gears_guest::Node::Boolean(false)])));
    let msg = |i: usize| match &out[i] {
        Err(gears_guest::bindings::gears::function::types::Failure::Error(m)) => m.clone(),
        other => panic!("request {i}: {other:?}"),
    };
    assert_eq!(
        msg(3),
        "gears-guest: callback 1 (map): is a filter callback"
    );
    assert_eq!(msg(4), "gears-guest: no callback with id 7");
    assert!(msg(5).contains("overruns"), "{}", msg(5));
    assert_eq!(msg(6), "gears-guest: callback 0 (map): 0 arguments");
}

#[test]
fn accumulate_folds_batched_records() {
    testing::init(|| {
        GearsBuilder::new(Reader::Keys)
            .accumulate(|a, r| {
                gears_guest::py::add(&r, &if a.is_null() { Value::Int(0) } else { a })
            })
            .local_group_by(
                |_| "k",
                |_k, a, r| gears_guest::py::add(&r, &if a.is_null() { Value::Int(0) } else { a }),
            )
            .run(RunOptions::new())
    })
    .expect("init");
    let args = vec![Value::Null, Value::Int(1), Value::Int(2), Value::Int(3)];
    assert_eq!(
        testing::call_one(0, CallKind::Accumulate, args),
        Ok(vec![Value::Int(6)])
    );
    let args = vec![
        Value::Text("k".into()),
        Value::Int(10),
        Value::Int(1),
        Value::Int(2),
    ];
    assert_eq!(
        testing::call_one(2, CallKind::AccumulateByKey, args),
        Ok(vec![Value::Int(13)])
    );
    assert_eq!(
        testing::call_one(1, CallKind::ExtractKey, vec![Value::Null]),
        Ok(vec![Value::Text("k".into())])
    );
}

#[test]
fn fresh_instance_rebuilds_the_table_without_declaring_again() {
    let init = || {
        GearsBuilder::new(Reader::Keys)
            .map(|r| r.as_i64().unwrap_or(0) * 10)
            .run(RunOptions::new())
    };
    testing::init(init).expect("init");
    testing::fresh_instance();
    // the replay runs init again, but its run() does not reach the host (which would refuse
    // it outside init)
    assert_eq!(
        testing::call_one(0, CallKind::Map, vec![Value::Int(4)]),
        Ok(vec![Value::Int(40)])
    );
}

#[test]
#[allow(
    clippy::needless_borrows_for_generic_args,
    reason = "the `execute(&[..])` form is tested"
)]
fn execute_sends_byte_args_and_maps_error_replies() {
    testing::init(|| {
        GearsBuilder::new(Reader::Keys)
            .foreach(|r| -> Result<(), Error> {
                let key = r["key"].as_bytes().unwrap_or_default();
                execute([b"SET".as_slice(), key, b"\xff"])?;
                execute(cmd!["INCRBY", "n", 5])?;
                execute(&["GET", "x"]).map(|_| ())
            })
            .run(RunOptions::new())
    })
    .expect("init");
    let mut n = 0;
    testing::on_execute(move |args| {
        n += 1;
        if args[0] == b"GET" {
            Reply::Error("WRONGTYPE bad".into())
        } else {
            Reply::Int(n)
        }
    });
    let out = testing::call_one(0, CallKind::Foreach, vec![kv("k\u{e9}", "v")]);
    assert_eq!(out, Err(Failure::Error("WRONGTYPE bad".into())));
    assert_eq!(
        testing::take_executed(),
        vec![
            vec![b"SET".to_vec(), "k\u{e9}".as_bytes().to_vec(), vec![0xff]],
            vec![b"INCRBY".to_vec(), b"n".to_vec(), b"5".to_vec()],
            vec![b"GET".to_vec(), b"x".to_vec()],
        ]
    );
}

#[test]
fn execute_during_init_is_refused() {
    let res = testing::init(|| execute(["PING"]).map(|_| ()));
    assert_eq!(
        res.err().as_deref(),
        Some("ERR execute is not allowed during init")
    );
}

#[test]
fn host_functions_reach_the_mock() {
    testing::set_config("Greeting", "hi");
    testing::init(|| {
        gears_guest::log_at(
            LogLevel::Warning,
            format!("cfg={:?}", gears_guest::config_get("Greeting")),
        );
        GearsBuilder::new(Reader::Command)
            .map(|r| -> Result<Value, Error> {
                let reply = gears_guest::call_next(["GET", "k"])?;
                gears_guest::override_reply(Value::list([
                    r.to_text(),
                    reply.as_str().unwrap_or("").to_owned(),
                ]))?;
                gears_guest::log(format!("exec {:?}", gears_guest::execution_id()));
                Ok(Value::Null)
            })
            .register(RegisterOptions::new().hook("GET"))
    })
    .expect("init");
    assert_eq!(
        testing::take_logs(),
        vec![(LogLevel::Warning, "cfg=Some(\"hi\")".to_owned())]
    );
    assert!(
        testing::call_one(0, CallKind::Map, vec![Value::Null]).is_err(),
        "call_next outside a hook"
    );
    testing::on_call_next(|_| Reply::Bulk(b"v".to_vec()));
    testing::set_execution_id(Some("abc-1"));
    assert_eq!(
        testing::call_one(0, CallKind::Map, vec![Value::Text("GET".into())]),
        Ok(vec![Value::Null])
    );
    assert_eq!(testing::take_override(), Some(Value::list(["GET", "v"])));
    assert_eq!(
        testing::take_logs(),
        vec![(LogLevel::Notice, "exec Some(\"abc-1\")".to_owned())]
    );
}

#[test]
fn builder_clone_registers_twice_with_shared_callbacks() {
    let declared = testing::init(|| {
        let b = GearsBuilder::new(Reader::Keys).map(|r| r);
        b.clone().register(RegisterOptions::new().prefix("a:*"))?;
        b.register(RegisterOptions::new().prefix("b:*"))
    })
    .expect("init");
    assert_eq!(declared.len(), 2);
    let ids: Vec<u32> = declared
        .iter()
        .map(|d| match d.plan().steps.first() {
            Some(wit::Step::Map(c)) => c.id,
            _ => u32::MAX,
        })
        .collect();
    assert_eq!(ids, [0, 0]);
}
