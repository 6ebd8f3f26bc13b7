//! End-to-end tests: one binary, one module per family or feature.

mod architecture;
mod bitmaps;
mod gears_async;
mod gears_hooks;
mod gears_journal;
mod gears_register;
mod gears_requirements;
mod hashes;
mod keys;
mod lists;
mod protocol;
mod pubsub;
mod server;
mod sets;
mod sort_dump;
mod streams;
mod strings;
mod tx;
mod wasm;
mod zsets;
