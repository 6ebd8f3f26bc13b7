//! Embeds the rpath of the libpython the Python runtime links against (see
//! scripts/python-rpath.rs), so the binary and tests load the CPython `python3` runs; records
//! that interpreter's path (`GEARS_PYTHON`, which runs pip for RG.PYEXECUTE REQUIREMENTS) and the
//! build's OS string (`GEARS_COMPILED_OS`, RG.PYDUMPREQS's `CompiledOs`).

include!("../scripts/python-rpath.rs");

/// The interpreter python_rpath() asked, as an absolute path.
fn python_executable() {
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .args(["-c", "import sys; print(sys.executable)"])
        .output();
    if let Ok(o) = out
        && o.status.success()
    {
        let exe = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if !exe.is_empty() {
            println!("cargo:rustc-env=GEARS_PYTHON={exe}");
        }
    }
}

/// `<os>-<distribution codename>-<arch>`, like RedisGears's `linux-bionic-x64`.
fn compiled_os() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_else(|_| "linux".into());
    let arch = match std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => "x64".to_string(),
        Ok("aarch64") => "arm64v8".to_string(),
        Ok(other) => other.to_string(),
        Err(_) => "unknown".to_string(),
    };
    println!("cargo:rerun-if-changed=/etc/os-release");
    let codename = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric()));
    match codename {
        Some(c) => println!("cargo:rustc-env=GEARS_COMPILED_OS={os}-{c}-{arch}"),
        None => println!("cargo:rustc-env=GEARS_COMPILED_OS={os}-{arch}"),
    }
}

fn main() {
    if std::env::var_os("CARGO_FEATURE_PYTHON").is_some() {
        python_rpath();
        python_executable();
    }
    compiled_os();
}
