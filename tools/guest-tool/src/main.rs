//! gears-guest-tool: what `scripts/build-guests.sh` needs beyond compilers, as library calls
//! (no `cargo install`ed CLIs):
//!
//! ```text
//! gears-guest-tool c-bindings <wit-dir> <world> <out-dir>   C bindings (wit-bindgen-c): <world>.h,
//!                                                           <world>.c, <world>_component_type.o
//! gears-guest-tool componentize <core.wasm> <out.wasm>      core module (with its embedded
//!                                                           component type) -> component
//! gears-guest-tool check <component.wasm> [--allow-wasi]    fails unless the file is a component
//!                                                           exporting gears:function/function and
//!                                                           importing only gears:function (and
//!                                                           WASI with --allow-wasi); prints both
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use wit_parser::decoding::DecodedWasm;
use wit_parser::{Resolve, WorldItem, WorldKey};

/// The package every guest is built against.
const PACKAGE: &str = "gears:function";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["c-bindings", wit, world, out] => c_bindings(Path::new(wit), world, Path::new(out)),
        ["componentize", core, out] => componentize(Path::new(core), Path::new(out)),
        ["check", component] => check(Path::new(component), false),
        ["check", component, "--allow-wasi"] => check(Path::new(component), true),
        _ => {
            eprintln!(
                "usage: gears-guest-tool c-bindings <wit-dir> <world> <out-dir>\n\
                 \x20      gears-guest-tool componentize <core.wasm> <out.wasm>\n\
                 \x20      gears-guest-tool check <component.wasm> [--allow-wasi]"
            );
            return ExitCode::from(2);
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gears-guest-tool: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Generates the C bindings of `world` into `out`.
fn c_bindings(wit: &Path, world: &str, out: &Path) -> Result<()> {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve
        .push_path(wit)
        .with_context(|| format!("parsing {}", wit.display()))?;
    let world = resolve.select_world(&[pkg], Some(world))?;
    let mut files = wit_bindgen_core::Files::default();
    let mut generator = wit_bindgen_c::Opts::default().build();
    generator.generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all(out)?;
    for (name, contents) in files.iter() {
        let path: PathBuf = out.join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// Turns a core module carrying a `component-type` custom section into a component.
fn componentize(core: &Path, out: &Path) -> Result<()> {
    let bytes = std::fs::read(core).with_context(|| format!("reading {}", core.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&bytes)
        .context("reading the core module's component type")?
        .validate(true)
        .encode()
        .context("encoding the component")?;
    std::fs::write(out, &component).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

fn item_name(resolve: &Resolve, key: &WorldKey, item: &WorldItem) -> String {
    match item {
        WorldItem::Interface { id, .. } => resolve
            .id_of(*id)
            .unwrap_or_else(|| resolve.name_world_key(key)),
        _ => resolve.name_world_key(key),
    }
}

/// Checks a guest component's imports and exports.
fn check(path: &Path, allow_wasi: bool) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let decoded = wit_parser::decoding::decode(&bytes)
        .with_context(|| format!("{} is not a wasm component", path.display()))?;
    let (resolve, world) = match decoded {
        DecodedWasm::Component(resolve, world) => (resolve, world),
        DecodedWasm::WitPackage(..) => {
            bail!("{} is a WIT package, not a component", path.display())
        }
    };
    let w = &resolve.worlds[world];
    let mut bad = Vec::new();
    for (key, item) in &w.imports {
        let name = item_name(&resolve, key, item);
        println!("import {name}");
        let ours = name.starts_with(&format!("{PACKAGE}/"));
        let wasi = name.starts_with("wasi:");
        if !(ours || (allow_wasi && wasi)) {
            bad.push(name);
        }
    }
    let mut exports_function = false;
    for (key, item) in &w.exports {
        let name = item_name(&resolve, key, item);
        println!("export {name}");
        exports_function |= name.starts_with(&format!("{PACKAGE}/function@"));
    }
    if !bad.is_empty() {
        bail!(
            "{} imports what gears-host does not offer: {}",
            path.display(),
            bad.join(", ")
        );
    }
    if !exports_function {
        bail!("{} does not export {PACKAGE}/function", path.display());
    }
    println!("ok {} ({} bytes)", path.display(), bytes.len());
    Ok(())
}
