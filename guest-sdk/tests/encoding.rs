//! The pre-order tree encodings of `data` and `reply`, and Python formatting.

use gears_guest::{DecodeError, MAX_DEPTH, Node, Reply, ReplyNode, Value};

fn bytes(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn decode_wit_doc_examples_give_documented_trees() {
    let nodes = [
        Node::List(2),
        Node::Integer(1),
        Node::List(1),
        Node::Bytes(bytes("a")),
    ];
    assert_eq!(
        Value::decode(&nodes),
        Ok(Value::List(vec![
            Value::Int(1),
            Value::List(vec![Value::Bytes(bytes("a"))])
        ]))
    );
    let nodes = [Node::Map(1), Node::Text("k".into()), Node::Float(0.5)];
    assert_eq!(
        Value::decode(&nodes),
        Ok(Value::Map(vec![(
            Value::Text("k".into()),
            Value::Float(0.5)
        )]))
    );
}

#[test]
fn encode_every_kind_round_trips() {
    let v = Value::map([
        ("null", Value::Null),
        ("bool", Value::Bool(true)),
        ("int", Value::Int(-7)),
        (
            "big",
            Value::BigInt("123456789012345678901234567890".into()),
        ),
        ("float", Value::Float(1.25)),
        ("bytes", Value::Bytes(vec![0, 255, 10])),
        ("text", Value::Text("é".into())),
        ("empty list", Value::List(vec![])),
        ("empty map", Value::Map(vec![])),
        (
            "nested",
            Value::List(vec![
                Value::List(vec![Value::Int(1)]),
                Value::map([("a", Value::List(vec![]))]),
            ]),
        ),
    ]);
    let nodes = v.encode();
    assert!(matches!(nodes[0], Node::Map(10)));
    assert_eq!(Value::decode(&nodes), Ok(v));
}

#[test]
fn encode_is_pre_order_with_child_counts() {
    let v = Value::List(vec![Value::map([("k", 1)]), Value::Null]);
    let nodes = v.encode();
    assert_eq!(nodes.len(), 5);
    assert!(matches!(nodes[0], Node::List(2)));
    assert!(matches!(nodes[1], Node::Map(1)));
    assert!(matches!(&nodes[2], Node::Text(k) if k == "k"));
    assert!(matches!(nodes[3], Node::Integer(1)));
    assert!(matches!(nodes[4], Node::Null));
}

#[test]
fn decode_empty_list_is_rejected() {
    assert_eq!(Value::decode(&[]), Err(DecodeError::Empty));
}

#[test]
fn decode_count_overrunning_the_list_is_rejected() {
    let nodes = [Node::List(3), Node::Null, Node::Null];
    assert_eq!(Value::decode(&nodes), Err(DecodeError::Truncated { at: 0 }));
    // the inner list fits, the outer one does not
    let nodes = [Node::List(2), Node::List(1), Node::Null];
    assert_eq!(Value::decode(&nodes), Err(DecodeError::Truncated { at: 0 }));
    // a map needs two trees per entry
    let nodes = [Node::Map(1), Node::Text("k".into())];
    assert_eq!(Value::decode(&nodes), Err(DecodeError::Truncated { at: 0 }));
    let nodes = [
        Node::List(1),
        Node::Map(2),
        Node::Null,
        Node::Null,
        Node::Null,
    ];
    assert_eq!(Value::decode(&nodes), Err(DecodeError::Truncated { at: 1 }));
    // a huge count is refused before anything is allocated for it
    let nodes = [Node::List(u32::MAX), Node::Null];
    assert_eq!(Value::decode(&nodes), Err(DecodeError::Truncated { at: 0 }));
}

#[test]
fn decode_nodes_left_over_are_rejected() {
    let nodes = [Node::Integer(1), Node::Integer(2)];
    assert_eq!(Value::decode(&nodes), Err(DecodeError::Trailing { at: 1 }));
    let nodes = [Node::List(1), Node::Null, Node::Null];
    assert_eq!(Value::decode(&nodes), Err(DecodeError::Trailing { at: 2 }));
}

#[test]
fn decode_nesting_deeper_than_max_depth_is_rejected() {
    let mut nodes: Vec<Node> = (0..MAX_DEPTH).map(|_| Node::List(1)).collect();
    nodes.push(Node::Null);
    assert!(Value::decode(&nodes).is_ok());
    let mut nodes: Vec<Node> = (0..=MAX_DEPTH).map(|_| Node::List(1)).collect();
    nodes.push(Node::Null);
    assert_eq!(Value::decode(&nodes), Err(DecodeError::TooDeep));
}

#[test]
fn reply_decode_round_trips_and_rejects_malformed() {
    let r = Reply::Array(vec![
        Reply::Int(1),
        Reply::Bulk(bytes("v")),
        Reply::Nil,
        Reply::Array(vec![
            Reply::Status("OK".into()),
            Reply::Error("ERR x".into()),
        ]),
        Reply::Double(0.5),
        Reply::Bool(false),
    ]);
    assert_eq!(Reply::decode(&r.encode()), Ok(r));
    assert_eq!(
        Reply::decode(&[ReplyNode::Array(2), ReplyNode::Nil]),
        Err(DecodeError::Truncated { at: 0 })
    );
    assert_eq!(
        Reply::decode(&[ReplyNode::Nil, ReplyNode::Nil]),
        Err(DecodeError::Trailing { at: 1 })
    );
    assert_eq!(Reply::decode(&[]), Err(DecodeError::Empty));
}

#[test]
fn reply_into_value_follows_python_execute() {
    let r = Reply::Array(vec![
        Reply::Bulk(bytes("a")),
        Reply::Bulk(vec![0xff]),
        Reply::Nil,
        Reply::Int(3),
    ]);
    assert_eq!(
        Value::from(r),
        Value::List(vec![
            Value::Text("a".into()),
            Value::Bytes(vec![0xff]),
            Value::Null,
            Value::Int(3)
        ])
    );
    assert_eq!(Reply::Bulk(bytes("42")).as_int(), Some(42));
    assert_eq!(Reply::Bulk(bytes("1.5")).as_f64(), Some(1.5));
}

#[test]
fn accessors_treat_utf8_bytes_as_text() {
    let r = Value::map([
        (Value::Bytes(bytes("key")), Value::Bytes(bytes("k1"))),
        (Value::Text("n".into()), Value::Bytes(bytes(" 12 "))),
    ]);
    assert_eq!(r["key"].as_str(), Some("k1"));
    assert_eq!(r["n"].as_i64(), Some(12));
    assert!(r["missing"].is_null());
    assert!(r["key"][3].is_null());
    let mut r = r;
    r.insert("key", "k2");
    assert_eq!(r["key"].as_str(), Some("k2"));
    assert_eq!(r.remove("n"), Some(Value::Bytes(bytes(" 12 "))));
    assert_eq!(r.as_map().map(<[_]>::len), Some(1));
}

#[test]
fn py_str_formats_like_python() {
    let r = Value::map([
        ("key", Value::Bytes(bytes("a"))),
        ("value", Value::Int(3)),
        ("f", Value::Float(2.0)),
        ("n", Value::Null),
        (
            "t",
            Value::List(vec![Value::Bool(true), Value::Text("it's".into())]),
        ),
    ]);
    assert_eq!(
        r.py_str(),
        r#"{'key': 'a', 'value': 3, 'f': 2.0, 'n': None, 't': [True, "it's"]}"#
    );
    assert_eq!(Value::Text("x".into()).py_str(), "x");
    assert_eq!(Value::Text("x".into()).py_repr(), "'x'");
    assert_eq!(
        Value::Text("a'b\"c\\\n\t\u{1}".into()).py_repr(),
        r#"'a\'b"c\\\n\t\x01'"#
    );
    assert_eq!(
        Value::Bytes(vec![b'a', 0xff, b'\'']).py_str(),
        r#"b"a\xff'""#
    );
    assert_eq!(
        Value::BigInt("-123456789012345678901".into()).py_str(),
        "-123456789012345678901"
    );
}

#[test]
fn float_repr_matches_python() {
    let cases = [
        (1.0, "1.0"),
        (-2.5, "-2.5"),
        (0.1, "0.1"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (123456789.123, "123456789.123"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1.2345e-7, "1.2345e-07"),
        (1e100, "1e+100"),
        (49.5, "49.5"),
        (1.0 / 3.0, "0.3333333333333333"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
    ];
    for (f, want) in cases {
        assert_eq!(gears_guest::pyfmt::float_repr(f), want, "{f:e}");
    }
}

#[test]
fn py_ops_follow_python() {
    use gears_guest::py;
    use std::cmp::Ordering;
    assert!(!py::truthy(&Value::Int(0)) && py::truthy(&Value::Int(2)));
    assert!(!py::truthy(&Value::Text(String::new())) && !py::truthy(&Value::List(vec![])));
    assert!(!py::truthy(&Value::BigInt("-000".into())) && py::truthy(&Value::BigInt("10".into())));
    assert_eq!(
        py::add(&Value::Int(1), &Value::Float(0.5)),
        Ok(Value::Float(1.5))
    );
    assert_eq!(
        py::add(&Value::Int(i64::MAX), &Value::Int(1)),
        Ok(Value::BigInt("9223372036854775808".into()))
    );
    assert_eq!(
        py::add(&Value::Bool(true), &Value::Int(1)),
        Ok(Value::Int(2))
    );
    assert_eq!(
        py::add(&Value::Int(1), &Value::Text("a".into())).map_err(|f| f.message().to_owned()),
        Err("TypeError: unsupported operand type(s) for +: 'int' and 'str'".to_owned())
    );
    assert_eq!(
        py::div(&Value::Int(1), &Value::Int(2)),
        Ok(Value::Float(0.5))
    );
    assert!(py::div(&Value::Int(1), &Value::Int(0)).is_err());
    assert!(py::eq(&Value::Int(1), &Value::Float(1.0)));
    assert!(py::eq(&Value::Text("a".into()), &Value::Bytes(bytes("a"))));
    assert!(py::eq(
        &Value::map([("a", 1), ("b", 2)]),
        &Value::map([("b", 2), ("a", 1)])
    ));
    assert_eq!(
        py::cmp(&Value::Int(2), &Value::Float(2.5)),
        Ok(Ordering::Less)
    );
    assert_eq!(
        py::cmp(&Value::list([1, 2]), &Value::list([1, 2, 0])),
        Ok(Ordering::Less)
    );
    assert!(py::cmp(&Value::Int(1), &Value::Text("a".into())).is_err());
    assert_eq!(py::to_float(&Value::Bytes(bytes(" 1_000.5 "))), Ok(1000.5));
    assert!(py::to_float(&Value::Text("abc".into())).is_err());
    assert_eq!(
        py::to_int(&Value::Bytes(bytes(" -1_2 "))),
        Ok(Value::Int(-12))
    );
    assert_eq!(py::to_int(&Value::Float(-2.7)), Ok(Value::Int(-2)));
    assert_eq!(
        py::to_int(&Value::Text("123456789012345678901".into())),
        Ok(Value::BigInt("123456789012345678901".into()))
    );
    assert_eq!(
        py::to_int(&Value::Text("1.5".into())).map_err(|f| f.message().to_owned()),
        Err("ValueError: invalid literal for int() with base 10: '1.5'".to_owned())
    );
    // stable either way, as Python's sorted(reverse=True)
    let items = vec![
        Value::list([1, 1]),
        Value::list([0, 2]),
        Value::list([1, 3]),
    ];
    let key_sorted = py::sorted(items.clone(), false).unwrap_or_default();
    assert_eq!(
        key_sorted,
        vec![
            Value::list([0, 2]),
            Value::list([1, 1]),
            Value::list([1, 3])
        ]
    );
    assert_eq!(
        py::sorted(vec![Value::Int(1), Value::Text("x".into())], false)
            .map_err(|f| f.message().to_owned()),
        Err("TypeError: '<' not supported between instances of 'str' and 'int'".to_owned())
    );
}
