//! streams family tests (filled in by its slice).
