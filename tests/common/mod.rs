//! Helpers shared by the integration tests. Each test binary includes this
//! with `mod common;` and uses the parts it needs.

#![allow(dead_code)]

pub mod bench;
pub mod craft;
pub mod lossy_path;
pub mod netns;
pub mod sim;

/// Generates `mod STACK { #[test] fn TEST() { super::TEST("STACK") } ... }`
/// for every stack and test named; with `families: [ipv4, ipv6]`,
/// `mod FAMILY { mod STACK { ... super::super::TEST("STACK", Family::..) } }`
/// for tests that take the family too (`ipv6::smoltcp::ping_is_answered`).
#[allow(unused_macros)] // only the live test crates use it
macro_rules! live_tests {
    (stacks: [$($stack:ident),* $(,)?], tests: $tests:tt) => {
        $( live_tests!(@one_stack $stack $tests); )*
    };
    (families: [$($family:ident),* $(,)?], stacks: $stacks:tt, tests: $tests:tt) => {
        $( live_tests!(@one_family $family $stacks $tests); )*
    };
    (@one_family $family:ident [$($stack:ident),* $(,)?] $tests:tt) => {
        mod $family {
            $( live_tests!(@family_stack $family $stack $tests); )*
        }
    };
    (@family_stack $family:ident $stack:ident [$($test:ident),* $(,)?]) => {
        mod $stack {
            $(
                #[test]
                fn $test() {
                    let family = crate::common::netns::Family::named(stringify!($family));
                    super::super::$test(stringify!($stack), family);
                }
            )*
        }
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
