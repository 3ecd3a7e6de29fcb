//! libFuzzer entry point; the target itself is [`tuntcp_fuzz::wire`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tuntcp_fuzz::wire::run(data));
