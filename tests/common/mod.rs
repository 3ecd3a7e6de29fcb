//! Helpers shared by the integration tests. Each test binary includes this
//! with `mod common;` and uses the parts it needs.

#![allow(dead_code)]

pub mod bench;
pub mod craft;
pub mod lossy_path;
pub mod netns;
pub mod sim;

/// Generates `mod STACK { #[test] fn TEST() { super::TEST("STACK") } ... }`
/// for every stack and test named.
#[allow(unused_macros)] // only the live test crates use it
macro_rules! live_tests {
    (stacks: [$($stack:ident),* $(,)?], tests: $tests:tt) => {
        $( live_tests!(@one_stack $stack $tests); )*
    };
    (@one_stack $stack:ident [$($test:ident),* $(,)?]) => {
        mod $stack {
            $(
                #[test]
                fn $test() {
                    super::$test(stringify!($stack));
                }
            )*
        }
    };
}
