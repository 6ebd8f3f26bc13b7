//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD.

use super::CommandSpec;

pub(super) const COMMANDS: &[CommandSpec] = &[];
