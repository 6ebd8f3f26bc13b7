//! Installed packages (RG.PYEXECUTE REQUIREMENTS): where imports look for them (`sys.path`) and
//! the module cache reset that follows an installation.
//!
//! The host installs every requirement with `pip install --target <dir>` into a directory of its
//! own. Those directories are put at the front of `sys.path` for good (not only while one
//! session's code runs): `sys.modules` is shared by every session, as in RedisGears 1.2, so a
//! module imported by one session is visible to all of them anyway, and a process-wide path
//! stays consistent when several execution threads run Python code (each releases the GIL around
//! host calls, so a per-session path would leak between threads).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

/// `sys.modules` as it was right after the interpreter and the prelude started.
static INITIAL_MODULES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// Records the current `sys.modules` as the content [`reset_modules`] restores. Imports the
/// standard modules the runtime itself uses later first, so a reset does not give the host a
/// second copy of them.
pub(crate) fn snapshot_modules(py: Python<'_>) -> PyResult<()> {
    for m in ["sys", "threading", "traceback", "ctypes", "importlib"] {
        py.import(m)?;
    }
    INITIAL_MODULES.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let modules = py.import("sys")?.getattr("modules")?;
        Ok(modules.cast::<PyDict>()?.copy()?.unbind())
    })?;
    Ok(())
}

/// Makes the packages installed in `dirs` importable: every `sys.path` entry below `root` (the
/// directory all package directories live in) is replaced by `dirs`, in that order, at the
/// front of `sys.path` (so `dirs[0]` wins), and the import system's directory caches are
/// dropped.
///
/// # Errors
/// A Python error while editing `sys.path` (only if `sys.path` is not a list).
pub fn set_package_dirs(root: &str, dirs: &[String]) -> Result<(), String> {
    crate::alloc::install();
    Python::attach(|py| {
        let run = || -> PyResult<()> {
            let path = py.import("sys")?.getattr("path")?;
            let path = path.cast::<PyList>()?;
            let prefix = format!("{}/", root.trim_end_matches('/'));
            let kept = PyList::empty(py);
            for dir in dirs {
                kept.append(dir)?;
            }
            for entry in path.iter() {
                let ours = entry
                    .extract::<String>()
                    .is_ok_and(|s| s.starts_with(&prefix) || s == root);
                if !ours {
                    kept.append(entry)?;
                }
            }
            path.set_slice(0, path.len(), &kept)?;
            py.import("importlib")?.call_method0("invalidate_caches")?;
            Ok(())
        };
        run().map_err(|e| crate::format_error(py, &e, false))
    })
}

/// Resets `sys.modules` to its content right after start-up, as RedisGears does after a
/// session installed requirements, so the next `import` loads the newly installed versions.
/// Modules already bound in sessions' globals keep working; they are simply no longer cached.
///
/// # Errors
/// A Python error while editing `sys.modules`.
pub fn reset_modules() -> Result<(), String> {
    crate::alloc::install();
    Python::attach(|py| {
        let run = || -> PyResult<()> {
            let Some(initial) = INITIAL_MODULES.get(py) else {
                return Ok(());
            };
            let modules = py.import("sys")?.getattr("modules")?;
            let modules = modules.cast::<PyDict>()?;
            modules.clear();
            modules.update(initial.bind(py).as_mapping())?;
            py.import("importlib")?.call_method0("invalidate_caches")?;
            Ok(())
        };
        run().map_err(|e| crate::format_error(py, &e, false))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sys_path() -> Vec<String> {
        Python::attach(|py| {
            py.import("sys")
                .and_then(|s| s.getattr("path"))
                .and_then(|p| p.extract())
                .expect("sys.path is a list of str")
        })
    }

    #[test]
    fn package_dirs_replace_older_ones_at_the_front() {
        crate::init().expect("python starts");
        let root = "/nonexistent/gears/reqs";
        set_package_dirs(root, &[format!("{root}/a_1/site")]).expect("set");
        assert_eq!(sys_path()[0], format!("{root}/a_1/site"));
        set_package_dirs(
            root,
            &[format!("{root}/b_2/site"), format!("{root}/a_1/site")],
        )
        .expect("set");
        let p = sys_path();
        assert_eq!(p[0], format!("{root}/b_2/site"));
        assert_eq!(p[1], format!("{root}/a_1/site"));
        assert_eq!(p.iter().filter(|e| e.starts_with(root)).count(), 2);
        set_package_dirs(root, &[]).expect("set");
        assert!(!sys_path().iter().any(|e| e.starts_with(root)));
    }

    #[test]
    fn reset_forgets_modules_imported_later() {
        crate::init().expect("python starts");
        Python::attach(|py| {
            py.import("colorsys").expect("stdlib module");
        });
        reset_modules().expect("reset");
        Python::attach(|py| {
            let modules = py
                .import("sys")
                .and_then(|s| s.getattr("modules"))
                .expect("sys.modules");
            assert!(!modules.contains("colorsys").expect("contains"));
            assert!(modules.contains("redisgears").expect("contains"));
        });
    }
}
