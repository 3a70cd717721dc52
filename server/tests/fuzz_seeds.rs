//! Replays the fuzz seed corpora as ordinary tests, through the same functions the cargo-fuzz
//! targets call: every file of `fuzz/corpus/resp_parser/` through the parser check, every file
//! of `fuzz/corpus/execute/` through argv decoding and `Session::execute`.

use std::path::PathBuf;

use memora_server::fuzzing::{check_parser, decode_commands, fuzz_engine, run_execute};

/// The files of `fuzz/corpus/<target>`, sorted, with their names.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("read {}: {err}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (name, std::fs::read(&path).expect("read corpus file"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn resp_parser_seeds() {
    let seeds = corpus("resp_parser");
    assert!(seeds.len() >= 20, "seed corpus present");
    for (name, data) in seeds {
        let outcome = std::panic::catch_unwind(|| check_parser(&data));
        assert!(outcome.is_ok(), "resp_parser seed {name} failed");
    }
}

#[test]
fn execute_seeds() {
    let seeds = corpus("execute");
    assert!(seeds.len() >= 20, "seed corpus present");
    for (name, data) in seeds {
        let commands = decode_commands(&data);
        assert!(!commands.is_empty(), "seed {name} decodes to commands");
        let outcome = std::panic::catch_unwind(|| run_execute(&fuzz_engine(), &data));
        assert!(outcome.is_ok(), "execute seed {name} panicked");
    }
}

#[test]
fn decoding_follows_inline_quoting() {
    let commands = decode_commands(b"SET \"a b\" '\\x00'\n\nGET \"unbalanced\n");
    assert_eq!(
        commands,
        vec![
            vec![b"SET".to_vec(), b"a b".to_vec(), b"\\x00".to_vec()],
            vec![b"GET".to_vec(), b"\"unbalanced".to_vec()],
        ]
    );
}
