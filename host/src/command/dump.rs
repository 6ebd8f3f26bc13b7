//! DUMP and RESTORE.

use super::CommandSpec;

pub(super) const COMMANDS: &[CommandSpec] = &[];
