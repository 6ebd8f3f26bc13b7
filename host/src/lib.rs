//! gears-host: a Redis-compatible server that re-implements the RedisGears 1.x API.
//!
//! # Layout
//! Data flows one way: connection → command dispatch → keyspace.
//! - [`server`]: tokio listener, connections, the RESP codec (the only user of `redis_protocol`).
//! - [`command`]: the command table, one file per family, [`command::dispatch`].
//! - [`engine`]: the RedisGears engine: sessions, plans, executions, readers.
//! - [`runtime`]: how user code runs (Python via gears-python).
//! - [`keyspace`]: 16 databases of typed values, expiry, key events. Knows nothing of RESP.
//! - [`limits`]: fuel, memory and deadline budgets, breaches, the auto-pause policy.
//! - [`config`]: every configuration key and default.

pub mod command;
pub mod config;
pub mod engine;
pub mod keyspace;
pub mod limits;
pub mod runtime;
pub mod server;

pub use config::Config;
pub use server::Server;
