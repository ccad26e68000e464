//! Properties: the parser never panics, whatever it is fed; encoders always produce valid JSON
//! (without duplicate keys) for whatever the parser accepts; unescaping undoes ALB's escaping.

mod fixtures;

use fixtures::*;
use fleetwatch_alb::{LogKind, parse_key, parse_line, sniff_kind};
use fleetwatch_alb::{Tokenizer, escape_into, unescape};
use proptest::prelude::*;

const KINDS: [LogKind; 7] = [
    LogKind::Access,
    LogKind::Connection,
    LogKind::NlbTls,
    LogKind::Classic,
    LogKind::HealthCheck,
    LogKind::TestFile,
    LogKind::Unknown,
];

fn valid_lines() -> Vec<Vec<u8>> {
    vec![
        access_line().into_bytes(),
        access_prefix(22).into_bytes(),
        access_prefix(29).into_bytes(),
        format!("{} 10.0.0.99 \"x\"", access_line()).into_bytes(),
        CONNECTION_LINE.as_bytes().to_vec(),
        NLB_LINE.as_bytes().to_vec(),
        NLB_DOCUMENTED_LINE.as_bytes().to_vec(),
        HEALTH_CHECK_LINE.as_bytes().to_vec(),
        CLASSIC_LINE.as_bytes().to_vec(),
    ]
}

/// One edit to a line: bytes that matter to the tokenizer are over-represented.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Truncate(usize),
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b' '),
        Just(b'"'),
        Just(b'\\'),
        Just(b'-'),
        Just(b':'),
        Just(b'x'),
        Just(b'['),
        Just(b']'),
        Just(b'\n'),
        Just(0xff),
        any::<u8>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), interesting_byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), interesting_byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(line: &mut Vec<u8>, e: &Edit) {
    let len = line.len();
    match *e {
        Edit::Insert(i, b) => line.insert(i % (len + 1), b),
        Edit::Delete(i) if len > 0 => {
            line.remove(i % len);
        }
        Edit::Replace(i, b) if len > 0 => line[i % len] = b,
        Edit::Truncate(i) => line.truncate(i % (len + 1)),
        _ => {}
    }
}

fn parse_and_encode_everything(line: &[u8]) {
    let _ = sniff_kind(line);
    for kind in KINDS {
        if let Ok(record) = parse_line(kind, line) {
            check_all_formats(&record);
            // Lazy accessors must not panic either.
            if let fleetwatch_alb::Record::Access(r) = record {
                let _ = r.request.url_parts();
                let _ = r.actions().count();
                let _ = r.extra.iter().count();
                let _ = r.load_balancer_name().to_str_lossy();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..400)) {
        parse_and_encode_everything(&line);
    }

    #[test]
    fn arbitrary_text_with_many_separators_never_panics(line in "[ \"\\\\a-z0-9:.\\-\\[\\]]{0,200}") {
        parse_and_encode_everything(line.as_bytes());
    }

    #[test]
    fn mutated_valid_lines_never_panic(
        which in 0usize..9,
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let mut line = valid_lines()[which].clone();
        for e in &edits {
            apply(&mut line, e);
        }
        parse_and_encode_everything(&line);
    }

    #[test]
    fn arbitrary_keys_never_panic(key in "[A-Za-z0-9_./\\-]{0,200}") {
        let _ = parse_key(&key);
        let _ = LogKind::from_key(&key);
    }

    #[test]
    fn json_strings_equal_lossy_utf8(bytes in proptest::collection::vec(
        prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), Just(b'a'), Just(0x01u8)], 0..80)) {
        let mut out = Vec::new();
        fleetwatch_alb::encode::json::write_str(&mut out, &bytes);
        let parsed: String = serde_json::from_slice(&out).unwrap();
        prop_assert_eq!(parsed, String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn unescape_undoes_escape(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut escaped = Vec::new();
        escape_into(&bytes, &mut escaped);
        prop_assert_eq!(&*unescape(&escaped), &bytes[..]);

        // And through the tokenizer, as a quoted field between two others.
        let mut line = b"a \"".to_vec();
        line.extend_from_slice(&escaped);
        line.extend_from_slice(b"\" z");
        let mut t = Tokenizer::new(&line);
        prop_assert_eq!(t.next_token().unwrap().unwrap().raw(), b"a");
        let field = t.next_token().unwrap().unwrap();
        prop_assert!(field.is_quoted());
        prop_assert_eq!(&*field.text().bytes(), &bytes[..]);
        prop_assert_eq!(t.next_token().unwrap().unwrap().raw(), b"z");
        prop_assert!(t.next_token().unwrap().is_none());
    }

    #[test]
    fn any_user_agent_survives_a_round_trip_through_every_format(
        agent in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let mut escaped = Vec::new();
        escape_into(&agent, &mut escaped);
        let mut line = Vec::new();
        for (i, f) in ACCESS_FIELDS.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            if i == 13 {
                line.push(b'"');
                line.extend_from_slice(&escaped);
                line.push(b'"');
            } else {
                line.extend_from_slice(f.as_bytes());
            }
        }
        let record = parse_line(LogKind::Access, &line).unwrap();
        check_all_formats(&record);
        let fleetwatch_alb::Record::Access(r) = record else { unreachable!() };
        let want = String::from_utf8_lossy(&agent);
        if agent != b"-" {
            prop_assert_eq!(r.user_agent.unwrap().to_str_lossy(), want.clone());
            let v = fleetwatch_alb::encode::Format::Vrl.to_value(&record);
            prop_assert_eq!(v["user_agent"].as_str().unwrap(), &*want);
        }
        prop_assert_eq!(r.known_fields, 33);
    }
}
