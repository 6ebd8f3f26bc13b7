//! compositions: RedisGears' operations over the string values of the keys matching a
//! pattern, one per upload, chosen by configuration (so tests can compare each with the same
//! RG.PYEXECUTE on the same data):
//!
//! ```sh
//! redis-cli RG.CONFIGSET WasmExampleOp countby WasmExamplePattern 'n:*'
//! redis-cli -x RG.WASMEXECUTE < target/guests/compositions.wasm
//! ```
//!
//! Results are converted to strings as Python's `run()` does (`convertToStr`), so they equal
//! the replies of the Python line given with each operation in [`python_equivalent`].

use gears_guest::{Error, Failure, GearsBuilder, Reader, RunOptions, Value, config_get, py};

/// The operations, each with the RG.PYEXECUTE script that gives the same results.
pub const OPS: &[(&str, &str)] = &[
    ("count", "count()"),
    ("countby", "countby()"),
    ("distinct", "distinct()"),
    ("avg", "avg()"),
    ("sort", "sort()"),
    ("sort_desc", "sort(False)"),
    (
        "aggregate",
        "aggregate(0, lambda a, r: a + int(r), lambda a, r: a + r)",
    ),
    (
        "aggregateby",
        "aggregateby(lambda v: v[0], 0, lambda k, a, r: a + int(r), lambda k, a, r: a + r)",
    ),
    ("filter", "filter(lambda v: int(v) % 2 == 0)"),
    ("flatmap", "flatmap(lambda v: list(v))"),
    (
        "accumulate",
        "accumulate(lambda a, r: (a if a else 0) + int(r))",
    ),
    (
        "localgroupby",
        "localgroupby(lambda v: v[0], lambda k, a, r: (a if a else 0) + int(r))",
    ),
    (
        "groupby",
        "groupby(lambda v: v[0], lambda k, a, r: (a if a else 0) + int(r))",
    ),
    (
        "batchgroupby",
        "batchgroupby(lambda v: v[0], lambda k, rs: len(rs))",
    ),
    ("repartition", "repartition(lambda v: v)"),
    ("limit", "limit(2, 1)"),
];

/// `GB().map(lambda r: r['value']).<op>.run('<pattern>')`: the Python script giving the same
/// results as `op`.
pub fn python_equivalent(op: &str, pattern: &str) -> Option<String> {
    let (_, py) = OPS.iter().find(|(name, _)| *name == op)?;
    Some(format!(
        "GB().map(lambda r: r['value']).{py}.run('{pattern}')"
    ))
}

fn first_char(v: &Value) -> Result<Value, Failure> {
    let s = v
        .as_str()
        .ok_or("TypeError: 'int' object is not subscriptable")?;
    let c = s
        .chars()
        .next()
        .ok_or("IndexError: string index out of range")?;
    Ok(Value::Text(c.to_string()))
}

fn sum_int(a: &Value, r: &Value) -> Result<Value, Failure> {
    py::add(a, &py::to_int(r)?)
}

fn or_zero(a: Value) -> Value {
    if a.is_truthy() { a } else { Value::Int(0) }
}

fn init() -> Result<(), Error> {
    let op = config_get("WasmExampleOp").unwrap_or_else(|| "count".to_owned());
    let pattern = config_get("WasmExamplePattern").unwrap_or_else(|| "*".to_owned());
    let b = GearsBuilder::new(Reader::Keys)
        .desc(format!("compositions: {op}"))
        .map(|r| r["value"].clone());
    let b = match op.as_str() {
        "count" => b.count(),
        "countby" => b.count_by(|v| v.clone()),
        "distinct" => b.distinct(),
        "avg" => b.avg(),
        "sort" => b.sort(true),
        "sort_desc" => b.sort(false),
        "aggregate" => b.aggregate(0, |a, r| sum_int(&a, &r), |a, r| py::add(&a, &r)),
        "aggregateby" => b.aggregate_by(
            first_char,
            0,
            |_k, a, r| sum_int(&a, &r),
            |_k, a, r| py::add(&a, &r),
        ),
        "filter" => b.filter(|v| -> Result<bool, Failure> {
            Ok(py::to_int(v)?
                .as_i64()
                .is_some_and(|i| i.rem_euclid(2) == 0))
        }),
        "flatmap" => b.flat_map(|v| v.to_text().chars().map(String::from).collect::<Vec<_>>()),
        "accumulate" => b.accumulate(|a, r| sum_int(&or_zero(a), &r)),
        "localgroupby" => b.local_group_by(first_char, |_k, a, r| sum_int(&or_zero(a), &r)),
        "groupby" => b.group_by(first_char, |_k, a, r| sum_int(&or_zero(a), &r)),
        "batchgroupby" => b.batch_group_by(first_char, |_k, rs| rs.len()),
        "repartition" => b.repartition(|v| v.clone()),
        "limit" => b.limit(2, 1),
        other => {
            return Err(Error::Host(format!(
                "compositions: unknown WasmExampleOp {other}"
            )));
        }
    };
    b.run(RunOptions::new().pattern(pattern).convert_to_str(true))
}

gears_guest::export!(init);

#[cfg(test)]
mod tests {
    use gears_guest::Value;
    use gears_guest::testing;

    fn records(values: &[&str]) -> Vec<Value> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Value::map([
                    ("key", Value::Bytes(format!("n:{i}").into_bytes())),
                    ("value", Value::Bytes(v.as_bytes().to_vec())),
                ])
            })
            .collect()
    }

    /// What RedisGears 1.2 gives for each op over the values 12, 15, 23, 12 (sorted).
    #[test]
    fn compositions_give_python_results() {
        let expected: &[(&str, &[&str])] = &[
            ("count", &["4"]),
            (
                "countby",
                &[
                    "{'key': '12', 'value': 2}",
                    "{'key': '15', 'value': 1}",
                    "{'key': '23', 'value': 1}",
                ],
            ),
            ("distinct", &["12", "15", "23"]),
            ("avg", &["15.5"]),
            ("sort", &["12", "12", "15", "23"]),
            ("aggregate", &["62"]),
            (
                "aggregateby",
                &["{'key': '1', 'value': 39}", "{'key': '2', 'value': 23}"],
            ),
            ("filter", &["12", "12"]),
            ("flatmap", &["1", "1", "2", "2", "2", "3", "5", "1"]),
            ("accumulate", &["62"]),
            (
                "localgroupby",
                &["{'key': '1', 'value': 39}", "{'key': '2', 'value': 23}"],
            ),
            (
                "groupby",
                &["{'key': '1', 'value': 39}", "{'key': '2', 'value': 23}"],
            ),
            (
                "batchgroupby",
                &["{'key': '1', 'value': 3}", "{'key': '2', 'value': 1}"],
            ),
            ("repartition", &["12", "12", "15", "23"]),
        ];
        for (op, want) in expected {
            testing::set_config("WasmExampleOp", op);
            let declared = testing::init(super::init).expect("init");
            let out = testing::run(&declared[0], records(&["12", "15", "23", "12"]));
            assert_eq!(out.errors, Vec::<String>::new(), "{op}");
            let mut got: Vec<String> = out.results.iter().map(Value::to_text).collect();
            let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            if *op != "sort" {
                got.sort();
                want.sort();
            }
            assert_eq!(got, want, "{op}");
        }
        testing::set_config("WasmExampleOp", "sort_desc");
        let declared = testing::init(super::init).expect("init");
        let out = testing::run(&declared[0], records(&["12", "15", "23"]));
        assert_eq!(
            out.results,
            vec![
                Value::Text("23".into()),
                Value::Text("15".into()),
                Value::Text("12".into())
            ]
        );
        testing::set_config("WasmExampleOp", "nope");
        assert!(testing::init(super::init).is_err());
    }

    #[test]
    fn python_equivalent_names_every_op() {
        assert_eq!(
            super::python_equivalent("count", "n:*").as_deref(),
            Some("GB().map(lambda r: r['value']).count().run('n:*')")
        );
        assert!(super::python_equivalent("nope", "*").is_none());
    }
}
