//! Embeds the rpath of the libpython the Python runtime links against (see
//! scripts/python-rpath.rs), so the binary and tests load the CPython `python3` runs.

include!("../scripts/python-rpath.rs");

fn main() {
    if std::env::var_os("CARGO_FEATURE_PYTHON").is_some() {
        python_rpath();
    }
}
