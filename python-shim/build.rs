//! Embeds the rpath of the libpython pyo3 links against (see scripts/python-rpath.rs).

include!("../scripts/python-rpath.rs");

fn main() {
    python_rpath();
}
