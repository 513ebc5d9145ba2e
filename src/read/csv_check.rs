//! A strict RFC 4180 check of CSV files before the engine reads them.
//!
//! CSV parsers disagree on malformed input: a stray quote (`"Ivan"x"`), text after a closing
//! quote, a lone carriage return or a blank line is read one way by the `csv` crate and another
//! by the engine's reader, and a field can end up shifted into a neighbouring column — a dropped
//! e-mail address landing in a kept column. Both parsers agree on well-formed RFC 4180, so the
//! run accepts only that. The `csv` crate is lenient by design and has no strict mode, hence
//! this small state machine. It checks, never extracts: values are the engine's business.
//!
//! Each physical line is checked for UTF-8 on its own, which is exact: a line feed byte never
//! occurs inside a multi-byte UTF-8 sequence.

use std::io::BufRead;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    FieldStart,
    /// Inside a field that did not start with a quote.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field: the field's end, or the first of `""`.
    QuoteInQuoted,
}

/// The first violation in `reader`, as `line N: what` (1-based physical lines), or `None`.
pub fn first_fault(mut reader: impl BufRead, delimiter: u8) -> Option<String> {
    let mut line = Vec::with_capacity(4096);
    let mut line_no = 0usize;
    let mut state = State::FieldStart;
    let mut fields = 0usize; // completed fields of the current record
    let mut expected: Option<usize> = None; // the header's field count
    let mut record_start = 1usize;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Some(format!("line {}: cannot read: {e}", line_no + 1)),
        }
        line_no += 1;
        let mut bytes: &[u8] = &line;
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        if std::str::from_utf8(bytes).is_err() {
            return Some(format!("line {line_no}: not valid UTF-8"));
        }
        // Split off the line ending; inside a quoted field it is part of the value.
        let ended = bytes.last() == Some(&b'\n');
        let mut body = if ended {
            &bytes[..bytes.len() - 1]
        } else {
            bytes
        };
        let crlf = ended && body.last() == Some(&b'\r');
        if crlf {
            body = &body[..body.len() - 1];
        }
        if state == State::FieldStart && fields == 0 && body.is_empty() {
            if ended || crlf {
                return Some(format!(
                    "line {line_no}: a blank line (every record needs its fields)"
                ));
            }
            break; // the end of the file right after the last record's line ending
        }
        for &b in body {
            state = match (state, b) {
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, _) => State::Quoted,
                (State::QuoteInQuoted, b'"') => State::Quoted,
                (State::FieldStart, b'"') => State::Quoted,
                (State::FieldStart | State::Unquoted | State::QuoteInQuoted, d)
                    if d == delimiter =>
                {
                    fields += 1;
                    State::FieldStart
                }
                (State::Unquoted, b'"') => {
                    return Some(format!(
                        "line {line_no}: a quote inside an unquoted field (quote the whole field and double the quote)"
                    ));
                }
                (State::FieldStart | State::Unquoted, b'\r') => {
                    return Some(format!(
                        "line {line_no}: a carriage return that does not end the line"
                    ));
                }
                (State::FieldStart | State::Unquoted, _) => State::Unquoted,
                (State::QuoteInQuoted, _) => {
                    return Some(format!("line {line_no}: text after a closing quote"));
                }
            };
        }
        if state == State::Quoted {
            continue; // the line ending belongs to the quoted value; the record goes on
        }
        // The record ends with this line.
        fields += 1;
        match expected {
            None => expected = Some(fields),
            Some(n) if n != fields => {
                let at = if record_start == line_no {
                    format!("line {line_no}")
                } else {
                    format!("lines {record_start}-{line_no}")
                };
                return Some(format!("{at}: {fields} fields where the header has {n}"));
            }
            Some(_) => {}
        }
        fields = 0;
        state = State::FieldStart;
        record_start = line_no + 1;
    }
    if state == State::Quoted {
        return Some(format!(
            "line {record_start}: a quoted field is never closed (the file ends inside it)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Option<String> {
        first_fault(s.as_bytes(), b',')
    }

    #[test]
    fn well_formed_csv_passes() {
        assert_eq!(check("a,b\n1,2\n"), None);
        assert_eq!(check("a,b\r\n1,2\r\n"), None);
        assert_eq!(check("a,b\n1,2"), None); // no final line ending
        assert_eq!(check("a,b\n\"x, \"\"y\"\"\",\"multi\nline\"\n3,\n"), None);
        assert_eq!(check("\u{feff}a,b\n1,2\n"), None);
        assert_eq!(check("a,b\n\"\",\"\"\n"), None);
        assert_eq!(first_fault("a;b\n1;\"2;3\"\n".as_bytes(), b';'), None);
        assert_eq!(check("a\n1\n"), None);
    }

    #[test]
    fn malformed_csv_is_named_by_line_without_content() {
        let cases = [
            (
                "a,b,c\n1,\"Ivan\"x\",z\n",
                "line 2: text after a closing quote",
            ),
            (
                "a,b\n1,Iv\"an\n",
                "line 2: a quote inside an unquoted field",
            ),
            ("a,b\n1,2\r3,4\n", "line 2: a carriage return"),
            ("a,b\n1,2\n\n3,4\n", "line 3: a blank line"),
            ("a,b\n1,2\n3\n", "line 3: 1 fields where the header has 2"),
            ("a,b\n1,2,3\n", "line 2: 3 fields"),
            ("a,b\n1,\"x\ny\",3\n", "lines 2-3: 3 fields"),
            (
                "a,b\n1,\"open\n2,3\n",
                "line 2: a quoted field is never closed",
            ),
        ];
        for (input, want) in cases {
            let got = check(input).unwrap_or_else(|| panic!("{input:?} passed"));
            assert!(got.starts_with(want), "{input:?}: {got}");
            assert!(!got.contains("Ivan") && !got.contains("open"), "{got}");
        }
        let bad_utf8 = b"a,b\n1,\xff\xfe\n";
        assert_eq!(
            first_fault(&bad_utf8[..], b','),
            Some("line 2: not valid UTF-8".into())
        );
    }
}
