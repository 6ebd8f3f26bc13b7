//! The host's imports, raw. On wasm32 they are the component's imports; elsewhere (unit tests
//! on the build machine) they go to [`crate::testing`]'s mock host.

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::bindings::gears::function::{builder, host};
    use crate::{Node, ReplyNode};

    pub fn execute(args: &[Vec<u8>]) -> Vec<ReplyNode> {
        host::execute(args)
    }
    pub fn execute_atomic(commands: &[Vec<Vec<u8>>]) -> Vec<Vec<ReplyNode>> {
        host::execute_atomic(commands)
    }
    pub fn log(level: host::LogLevel, message: &str) {
        host::log(level, message)
    }
    pub fn config_get(key: &str) -> Option<String> {
        host::config_get(key)
    }
    pub fn call_next(args: &[Vec<u8>]) -> Result<Vec<ReplyNode>, String> {
        host::call_next(args)
    }
    pub fn override_reply(value: &[Node]) -> Result<(), String> {
        host::override_reply(value)
    }
    pub fn execution_id() -> Option<String> {
        host::execution_id()
    }
    pub fn run(p: &builder::Plan, o: &builder::RunOptions) -> Result<(), String> {
        builder::run(p, o)
    }
    pub fn register(p: &builder::Plan, o: &builder::RegisterOptions) -> Result<(), String> {
        builder::register(p, o)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub use crate::testing::mock::*;
}

pub use imp::*;
