//! Feeds arbitrary bytes to everything that reads SIP off the wire.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dialtone::sip::message::fuzz_one(data);
});
