//! # gears-guest: wasm functions for gears-host in a few lines of Rust
//!
//! A gears-host function is a WebAssembly component built against `wit/gears.wit` (world
//! `gears`). This crate wraps the generated bindings in RedisGears' own vocabulary: a
//! [`GearsBuilder`] with closures, [`Value`] records, [`execute`] for Redis commands.
//!
//! ```ignore
//! use gears_guest::{GearsBuilder, Reader, RunOptions, Value};
//!
//! fn init() -> Result<(), gears_guest::Error> {
//!     GearsBuilder::new(Reader::Keys)
//!         .flat_map(|r| r["value"].to_text().split_whitespace().map(str::to_owned).collect::<Vec<_>>())
//!         .count_by(|w| w.clone())
//!         .run(RunOptions::new().pattern("doc:*"))
//! }
//!
//! gears_guest::export!(init);
//! ```
//!
//! Build it as a `cdylib` for `wasm32-unknown-unknown` with `wasm-component-ld` as the linker
//! (see `scripts/build-guests.sh`), then upload it:
//! `redis-cli -x RG.WASMEXECUTE < word_count.wasm`.
//!
//! ## How it works
//!
//! The host calls the component's `init` once at upload: the init function builds plans, and
//! each closure it gives the builder is stored in the instance under a stable id (its rank).
//! Executions then call `function.call` with batches of requests naming those ids; the SDK
//! decodes the records (pre-order `data` trees), runs the closures and encodes their results.
//! An instance that did not run `init` itself (the host pools instances) rebuilds its table on
//! its first call by running the init function again with builder calls kept local, so the
//! init function must declare the same closures in the same order every time.
//!
//! Closures may return plain values or `Result`s ([`Outcome`]); an error becomes that record's
//! error, [`Failure::Pause`] pauses the registration. A panic traps the instance (the host
//! discards it and reports the execution's error); the panic message is logged first.
//!
//! On other targets than wasm32 the host's imports go to [`testing`]'s mock host, so
//! functions can be unit-tested with `cargo test`.

#![warn(missing_docs)]

/// The raw bindings generated from `wit/gears.wit` (world `gears`).
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "gears",
        pub_export_macro: true,
        export_macro_name: "__export_gears_world",
        default_bindings_module: "gears_guest::bindings",
    });
}

mod builder;
mod failure;
mod host;
pub mod py;
pub mod pyfmt;
mod registry;
mod reply;
mod sys;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
mod value;

pub use builder::{GearsBuilder, Mode, OnFailed, Reader, RegisterOptions, RunOptions};
pub use failure::{Error, Failure, IntoFailure, Outcome};
pub use host::{
    LogLevel, ToArg, call_next, config_get, execute, execute_atomic, execution_id, log, log_at,
    override_reply,
};
pub use registry::GENERATE_BATCH;
pub use reply::Reply;
pub use value::{DecodeError, IntoValue, MAX_DEPTH, Value};

/// One node of a `reply` tree.
pub use bindings::gears::function::types::ReplyNode;
/// One node of a `data` tree (the WIT `value` variant).
pub use bindings::gears::function::types::Value as Node;

/// Exports the component's `function` interface, with `$init` as the function that declares
/// the plans (`fn init() -> Result<(), E>` or `fn init()`): `gears_guest::export!(init);`.
/// Use it once, in the guest crate's root.
#[macro_export]
macro_rules! export {
    ($init:path) => {
        #[doc(hidden)]
        pub struct __GearsGuest;

        fn __gears_init() -> ::core::result::Result<(), ::std::string::String> {
            $crate::__private::run_user_init($init)
        }

        impl $crate::bindings::exports::gears::function::function::Guest for __GearsGuest {
            fn init(
                source: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<(), ::std::string::String> {
                $crate::__private::init(source, __gears_init)
            }

            fn call(
                requests: ::std::vec::Vec<
                    $crate::bindings::exports::gears::function::function::Request,
                >,
            ) -> ::std::vec::Vec<
                ::core::result::Result<
                    ::std::vec::Vec<::std::vec::Vec<$crate::Node>>,
                    $crate::bindings::gears::function::types::Failure,
                >,
            > {
                $crate::__private::call(requests, __gears_init)
            }
        }

        $crate::bindings::__export_gears_world!(__GearsGuest with_types_in $crate::bindings);
    };
}

/// What [`export!`] expands to; not an API.
#[doc(hidden)]
pub mod __private {
    use crate::bindings::exports::gears::function::function::Request;
    use crate::bindings::gears::function::types::Failure as WitFailure;
    use crate::{Node, Outcome};

    /// Runs the user's init function, its error as text.
    pub fn run_user_init<R: Outcome<()>>(f: fn() -> R) -> Result<(), String> {
        f().into_outcome().map_err(|e| e.message().to_owned())
    }

    /// `function.init`.
    pub fn init(_source: Vec<u8>, init: fn() -> Result<(), String>) -> Result<(), String> {
        install_panic_hook();
        crate::registry::run_init(&init, false)
    }

    /// `function.call`.
    pub fn call(
        requests: Vec<Request>,
        init: fn() -> Result<(), String>,
    ) -> Vec<Result<Vec<Vec<Node>>, WitFailure>> {
        install_panic_hook();
        crate::registry::call(requests, &init)
    }

    /// Logs a panic's message through the host before the instance traps.
    fn install_panic_hook() {
        #[cfg(target_arch = "wasm32")]
        {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                std::panic::set_hook(Box::new(|info| {
                    crate::sys::log(crate::LogLevel::Warning, &format!("guest panicked: {info}"));
                }));
            });
        }
    }
}
