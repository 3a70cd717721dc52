//! Arbitrary commands into `Session::execute` on a fresh engine: nothing panics, every reply
//! encodes. The input is one command per line with Redis's inline quoting (see
//! `memora_server::fuzzing::decode_commands`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use memora_server::fuzzing::{fuzz_engine, run_execute};

fuzz_target!(|data: &[u8]| {
    let engine = fuzz_engine();
    run_execute(&engine, data);
});
