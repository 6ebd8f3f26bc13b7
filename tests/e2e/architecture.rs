//! The layering of `host/src` (CONVENTIONS.md §2), enforced: each module imports only the layers
//! listed before it, `redis_protocol` appears only in the codec, pyo3 and wasmtime only in
//! `runtime/`.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(sources(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

fn host_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src")
}

/// Top-level module of a file under host/src (`keyspace`, `command`, `main.rs`, ...).
fn layer(path: &Path) -> String {
    let rel = path.strip_prefix(host_src()).unwrap_or(path);
    rel.components()
        .next()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .unwrap_or_default()
}

/// Which crate modules each layer may `use crate::` from.
fn allowed(layer: &str) -> Option<&'static [&'static str]> {
    Some(match layer {
        "config" | "limits" | "tenant" => &["config", "limits", "tenant", "keyspace"],
        "keyspace" => &["keyspace"],
        "runtime" => &["runtime", "limits"],
        "engine" => &[
            "engine", "keyspace", "runtime", "limits", "tenant", "config",
        ],
        "persist" => &["persist", "keyspace", "engine", "config"],
        "command" => &[
            "command", "keyspace", "config", "engine", "runtime", "limits", "tenant", "persist",
        ],
        "server" => &["server", "command", "config"],
        _ => return None,
    })
}

#[test]
fn layers_import_only_what_they_may() {
    let mut violations = Vec::new();
    for file in sources(&host_src()) {
        let layer = layer(&file);
        let Some(ok) = allowed(&layer) else { continue };
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            for (i, _) in line.match_indices("crate::") {
                let target: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !target.is_empty() && !ok.contains(&target.as_str()) {
                    violations.push(format!(
                        "{}:{}: {layer} uses crate::{target}",
                        file.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn protocol_and_runtime_crates_stay_in_their_files() {
    let mut violations = Vec::new();
    for file in sources(&host_src()) {
        let rel = file
            .strip_prefix(host_src())
            .unwrap_or(&file)
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&file).expect("readable source");
        if text.contains("redis_protocol::") && rel != "server/codec.rs" {
            violations.push(format!("{rel} uses redis_protocol"));
        }
        for krate in ["pyo3", "wasmtime"] {
            if text.contains(&format!("{krate}::")) && !rel.starts_with("runtime/") {
                violations.push(format!("{rel} uses {krate}"));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
