//! Word count over the string values of the keys `doc:*`: `examples/python/word_count.py` as a
//! wasm guest, giving the same replies.
//!
//! ```sh
//! redis-cli MSET doc:1 "The quick brown fox" doc:2 "the lazy dog, the end"
//! redis-cli -x RG.WASMEXECUTE < target/guests/word_count.wasm
//! ```
//!
//! Replies `[results, errors]`; each result is `"<word> <count>"`, most frequent first, then by
//! word.

use gears_guest::{Error, GearsBuilder, Reader, RunOptions};

/// The words of a text: runs of `[a-z0-9']` after lower-casing (the Python example's regex).
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn init() -> Result<(), Error> {
    GearsBuilder::new(Reader::Keys)
        .filter(|r| r["type"].as_str() == Some("string"))
        .flat_map(|r| words(&r["value"].to_text()))
        .count_by(|w| w.clone())
        // order: count descending, then word
        .map(|r| (-r["value"].as_i64().unwrap_or(0), r["key"].clone()))
        .sort(true)
        .map(|r| format!("{} {}", r[1].to_text(), -r[0].as_i64().unwrap_or(0)))
        .run(RunOptions::new().pattern("doc:*"))
}

gears_guest::export!(init);

#[cfg(test)]
mod tests {
    use gears_guest::Value;
    use gears_guest::testing;

    fn doc(key: &str, text: &str) -> Value {
        Value::map([
            ("key", Value::Bytes(key.into())),
            ("value", Value::Bytes(text.into())),
            ("type", Value::Text("string".into())),
            ("event", Value::Null),
        ])
    }

    #[test]
    fn word_count_two_docs_counts_sorted() {
        let declared = testing::init(super::init).expect("init");
        assert_eq!(declared.len(), 1);
        let out = testing::run(
            &declared[0],
            vec![
                doc("doc:1", "The quick brown fox"),
                doc("doc:2", "the lazy dog, the end"),
            ],
        );
        assert_eq!(out.errors, Vec::<String>::new());
        let got: Vec<String> = out.results.iter().map(Value::to_text).collect();
        assert_eq!(
            got,
            [
                "the 3", "brown 1", "dog 1", "end 1", "fox 1", "lazy 1", "quick 1"
            ]
        );
    }

    #[test]
    fn words_split_like_the_python_regex() {
        assert_eq!(
            super::words("It's a Dog-eat-dog 2nd"),
            ["it's", "a", "dog", "eat", "dog", "2nd"]
        );
    }
}
