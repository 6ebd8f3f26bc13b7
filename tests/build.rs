//! Embeds the libpython rpath in the test binaries, which run gears-host in-process (see
//! scripts/python-rpath.rs).

include!("../scripts/python-rpath.rs");

fn main() {
    python_rpath();
}
