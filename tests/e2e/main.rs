//! End-to-end tests: one binary, one module per family.

mod protocol;
mod strings;
