//! Arbitrary bytes into the request parser: it never panics, and parsing the bytes in one
//! read, in two reads, or one byte per read gives the same commands, which re-encode and
//! re-parse to themselves (see `memora_server::fuzzing::check_parser`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    memora_server::fuzzing::check_parser(data);
});
