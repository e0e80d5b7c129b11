//! zk-proto integration tests: golden byte vectors captured from a real ZooKeeper 3.8.0
//! server and the Debian Java client, and robustness against arbitrary input.
//!
//! The whole binary runs under an allocator capped at 64 MiB: a decoder that trusted a
//! length from the input and tried to allocate gigabytes would abort the run.

use std::alloc::System;

use cap::Cap;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, 64 * 1024 * 1024);

mod golden;
mod readme;
mod robustness;
