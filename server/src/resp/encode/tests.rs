use std::borrow::Cow;

use memora_engine::Error;

use super::*;

fn both(reply: &Reply) -> (String, String) {
    let render = |protocol| {
        let mut out = Vec::new();
        encode(reply, protocol, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    (render(Protocol::Resp2), render(Protocol::Resp3))
}

fn check(reply: Reply, resp2: &str, resp3: &str) {
    assert_eq!(both(&reply), (resp2.to_owned(), resp3.to_owned()), "{reply:?}");
}

#[test]
fn simple_and_error() {
    check(Reply::OK, "+OK\r\n", "+OK\r\n");
    check(Reply::Simple(Cow::Owned("a\r\nb".into())), "+a  b\r\n", "+a  b\r\n");
    check(
        Reply::Error(Error::WrongType),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    check(Reply::Error(Error::msg("ERR bad\r\nthing\n")), "-ERR bad  thing \r\n", "-ERR bad  thing \r\n");
}

#[test]
fn scalars() {
    check(Reply::Integer(-42), ":-42\r\n", ":-42\r\n");
    check(Reply::Integer(i64::MIN), ":-9223372036854775808\r\n", ":-9223372036854775808\r\n");
    check(Reply::Bulk(b"a\r\nb".to_vec()), "$4\r\na\r\nb\r\n", "$4\r\na\r\nb\r\n");
    check(Reply::Bulk(Vec::new()), "$0\r\n\r\n", "$0\r\n\r\n");
    check(Reply::Null, "$-1\r\n", "_\r\n");
    check(Reply::NullArray, "*-1\r\n", "_\r\n");
    check(Reply::Boolean(true), ":1\r\n", "#t\r\n");
    check(Reply::Boolean(false), ":0\r\n", "#f\r\n");
    check(Reply::Double(1.5), "$3\r\n1.5\r\n", ",1.5\r\n");
    check(Reply::Double(1.0), "$1\r\n1\r\n", ",1\r\n");
    check(Reply::Double(f64::INFINITY), "$3\r\ninf\r\n", ",inf\r\n");
    check(Reply::Double(1e300), "$6\r\n1e+300\r\n", ",1e+300\r\n");
    check(
        Reply::BigNumber("3492890328409238509324850943850943825024385".into()),
        "$43\r\n3492890328409238509324850943850943825024385\r\n",
        "(3492890328409238509324850943850943825024385\r\n",
    );
    check(
        Reply::Verbatim { format: *b"txt", text: b"Some string".to_vec() },
        "$11\r\nSome string\r\n",
        "=15\r\ntxt:Some string\r\n",
    );
}

#[test]
fn aggregates() {
    check(
        Reply::Array(vec![Reply::Integer(1), Reply::Bulk(b"x".to_vec()), Reply::Null]),
        "*3\r\n:1\r\n$1\r\nx\r\n$-1\r\n",
        "*3\r\n:1\r\n$1\r\nx\r\n_\r\n",
    );
    check(Reply::Array(vec![]), "*0\r\n", "*0\r\n");
    check(
        Reply::Map(vec![
            (Reply::bulk("proto"), Reply::Integer(3)),
            (Reply::bulk("ok"), Reply::Boolean(true)),
        ]),
        "*4\r\n$5\r\nproto\r\n:3\r\n$2\r\nok\r\n:1\r\n",
        "%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nok\r\n#t\r\n",
    );
    check(Reply::Map(vec![]), "*0\r\n", "%0\r\n");
    check(Reply::Set(vec![Reply::bulk("a")]), "*1\r\n$1\r\na\r\n", "~1\r\n$1\r\na\r\n");
    check(
        Reply::Push(vec![Reply::bulk("message"), Reply::Double(0.5)]),
        "*2\r\n$7\r\nmessage\r\n$3\r\n0.5\r\n",
        ">2\r\n$7\r\nmessage\r\n,0.5\r\n",
    );
    check(
        Reply::Array(vec![Reply::Set(vec![]), Reply::Map(vec![(Reply::Null, Reply::NullArray)])]),
        "*2\r\n*0\r\n*2\r\n$-1\r\n*-1\r\n",
        "*2\r\n~0\r\n%1\r\n_\r\n_\r\n",
    );
}

#[test]
fn appends_without_clearing() {
    let mut out = b"+OK\r\n".to_vec();
    encode(&Reply::Integer(7), Protocol::Resp2, &mut out);
    assert_eq!(out, b"+OK\r\n:7\r\n");
}

#[test]
fn protocol_error_wire_text() {
    use crate::resp::ProtocolError;
    let mut out = Vec::new();
    encode_error(&ProtocolError::ExpectedDollar(b'\r'), &mut out);
    assert_eq!(out, b"-ERR Protocol error: expected '$', got ' '\r\n");
}
