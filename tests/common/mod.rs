//! Helpers shared by the integration tests. Each test binary includes this
//! with `mod common;` and uses the parts it needs.

#![allow(dead_code)]

pub mod netns;
pub mod sim;
pub mod bench;
pub mod craft;
