//! sort_dump family tests (filled in by its slice).
