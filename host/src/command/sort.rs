//! SORT and SORT_RO.

use super::CommandSpec;

pub(super) const COMMANDS: &[CommandSpec] = &[];
