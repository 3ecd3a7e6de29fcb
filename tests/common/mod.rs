//! Helpers shared by the integration tests. Each test binary includes this
//! with `mod common;` and uses the parts it needs.

#![allow(dead_code)]

pub mod bench;
pub mod craft;
pub mod lossy_path;
pub mod netns;
pub mod sim;
