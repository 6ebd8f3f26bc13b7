// Shared by the build scripts of gears-python, gears-host and gears-tests (`include!`d): embed
// the rpath of the libpython that `python3` (or `PYO3_PYTHON`) uses, so the embedded interpreter
// is the same CPython the tests' `python3` runs, not another libpython on the system path.
fn python_rpath() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .args(["-c", "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        }
        _ => println!("cargo:warning=could not ask {python} for its LIBDIR; no rpath set"),
    }
}
