//! stdf-gen: synthetic STDF data written with stdf-core's writer.
//!
//! * [`generate_lot`]: a realistic multi-site wafer-sort lot of any size, reproducible from a
//!   seed, with exact [`Stats`] of what it wrote (for tests and benchmarks);
//! * [`fixtures`]: the small files committed under `tests/fixtures/`.
#![forbid(unsafe_code)]

pub mod fixtures;
pub mod lot;
pub mod rng;

pub use lot::{generate_lot, LotConfig, Stats, TestStats, WaferStats};
pub use rng::Rng;
