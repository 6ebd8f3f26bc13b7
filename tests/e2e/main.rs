//! End-to-end tests: one binary, one module per family or feature.

mod bitmaps;
mod hashes;
mod lists;
mod protocol;
mod sets;
mod sort_dump;
mod streams;
mod strings;
mod zsets;
