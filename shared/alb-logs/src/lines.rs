//! Bytes to lines: gzip (every member, not just the first; see [`crate::inflate`]) or plain
//! text, split on `\n` without copying lines that sit whole in the read buffer, in memory bounded
//! by the buffers and [`MAX_LINE`].

use std::io::{self, BufRead, BufReader, Read};

use crate::inflate::{Damage, DamageKind, GzipReader};

/// ALB lines carry at most an 8 KB user agent and a long URL; a "line" beyond this is corrupt
/// input (or not a log), and must not grow memory without bound.
pub const MAX_LINE: usize = 1024 * 1024;

const BUFFER: usize = 256 * 1024;

/// A decompressing (when needed) buffered reader over a log object.
pub enum LogReader<R: Read> {
    /// Boxed: the decoder's state is large, and one allocation per object is nothing.
    Gzip(Box<GzipReader<BufReader<R>>>),
    Plain(BufReader<R>),
}

impl<R: Read> LogReader<R> {
    /// Looks at the first bytes: the gzip magic means gzip (ALB objects are gzip without a
    /// `Content-Encoding`, so the name or metadata cannot be trusted to say so); anything else is
    /// read as it is (Classic ELB logs are plain text).
    pub fn open(reader: R) -> io::Result<Self> {
        let mut reader = BufReader::with_capacity(BUFFER, reader);
        let head = reader.fill_buf()?;
        Ok(if head.starts_with(&[0x1f, 0x8b]) {
            LogReader::Gzip(Box::new(GzipReader::new(reader)))
        } else {
            LogReader::Plain(reader)
        })
    }

    /// As [`LogReader::open`], for an object whose name says what it is: a name ending in `.gz`
    /// promises gzip, and content that does not start with a gzip member is [`Damage`]
    /// ([`DamageKind::NotGzip`]), not text: load balancers write every `.gz` object as gzip, so
    /// such bytes are something else, and read as lines they would only be noise. An empty object
    /// has no lines either way.
    pub fn open_named(reader: R, name: &str) -> io::Result<Self> {
        let log = Self::open(reader)?;
        match log {
            LogReader::Plain(mut plain) if name.ends_with(".gz") => {
                if plain.fill_buf()?.is_empty() {
                    return Ok(LogReader::Plain(plain));
                }
                Err(Damage::new(DamageKind::NotGzip, 0, None).into())
            }
            log => Ok(log),
        }
    }

    pub fn is_gzip(&self) -> bool {
        matches!(self, LogReader::Gzip(_))
    }
}

impl<R: Read> Read for LogReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            LogReader::Gzip(r) => r.read(buf),
            LogReader::Plain(r) => r.read(buf),
        }
    }
}

impl<R: Read> BufRead for LogReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            LogReader::Gzip(r) => r.fill_buf(),
            LogReader::Plain(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            LogReader::Gzip(r) => r.consume(amount),
            LogReader::Plain(r) => r.consume(amount),
        }
    }
}

/// One line, without its `\n` (a `\r` before it is left for the parser, which ignores it).
#[derive(Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based.
    pub number: u64,
    pub bytes: &'a [u8],
    /// The line was longer than [`MAX_LINE`]; `bytes` holds its first `MAX_LINE` bytes.
    pub truncated: bool,
    /// Reading failed inside this line (a damaged object, a failing source): `bytes` is what was
    /// read of it, never a whole line. It is the last line delivered.
    pub cut: bool,
}

/// Totals of a [`for_each_line`] pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineTotals {
    pub lines: u64,
    /// Decompressed bytes, line endings included.
    pub bytes: u64,
}

/// Calls `visit` for every line of `reader`, in order. The last line counts even without a final
/// newline. Stops at the first read error (a truncated or corrupt gzip member included), after
/// handing over what was read of the line it interrupted, marked [`Line::cut`]: nothing read is
/// dropped unseen.
pub fn for_each_line<B: BufRead>(
    mut reader: B,
    mut visit: impl FnMut(Line<'_>),
) -> io::Result<LineTotals> {
    let mut totals = LineTotals::default();
    // The start of a line that crossed the end of the read buffer.
    let mut carry: Vec<u8> = Vec::new();
    // Bytes of the current line beyond MAX_LINE, dropped.
    let mut overflow = false;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) => {
                if !carry.is_empty() || overflow {
                    totals.lines += 1;
                    visit(Line {
                        number: totals.lines,
                        bytes: &carry,
                        truncated: overflow,
                        cut: true,
                    });
                }
                return Err(error);
            }
        };
        if buffer.is_empty() {
            if !carry.is_empty() || overflow {
                totals.lines += 1;
                visit(Line {
                    number: totals.lines,
                    bytes: &carry,
                    truncated: overflow,
                    cut: false,
                });
            }
            return Ok(totals);
        }
        let length = buffer.len();
        totals.bytes += length as u64;
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', buffer) {
            totals.lines += 1;
            if carry.is_empty() && !overflow {
                visit(Line {
                    number: totals.lines,
                    bytes: &buffer[start..end],
                    truncated: false,
                    cut: false,
                });
            } else {
                append_bounded(&mut carry, &mut overflow, &buffer[start..end]);
                visit(Line {
                    number: totals.lines,
                    bytes: &carry,
                    truncated: overflow,
                    cut: false,
                });
                carry.clear();
                overflow = false;
            }
            start = end + 1;
        }
        append_bounded(&mut carry, &mut overflow, &buffer[start..]);
        reader.consume(length);
    }
}

fn append_bounded(carry: &mut Vec<u8>, overflow: &mut bool, bytes: &[u8]) {
    let room = MAX_LINE.saturating_sub(carry.len());
    if bytes.len() > room {
        *overflow = true;
    }
    carry.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn collect<B: BufRead>(reader: B) -> (Vec<(u64, Vec<u8>, bool)>, LineTotals) {
        let mut lines = Vec::new();
        let totals = for_each_line(reader, |line| {
            assert!(!line.cut);
            lines.push((line.number, line.bytes.to_vec(), line.truncated))
        })
        .unwrap();
        (lines, totals)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn splits_lines_across_tiny_buffers() {
        let text = b"first\nsecond line\r\n\nlast without newline";
        for capacity in [1, 2, 3, 7, 64] {
            let reader = BufReader::with_capacity(capacity, &text[..]);
            let (lines, totals) = collect(reader);
            let got: Vec<&[u8]> = lines.iter().map(|(_, b, _)| b.as_slice()).collect();
            assert_eq!(
                got,
                vec![
                    &b"first"[..],
                    b"second line\r",
                    b"",
                    b"last without newline"
                ],
                "buffer of {capacity}"
            );
            assert_eq!(lines[3].0, 4);
            assert_eq!(totals.bytes, text.len() as u64);
        }
    }

    #[test]
    fn every_gzip_member_is_read() {
        let mut object = gzip(b"a\nb\n");
        object.extend(gzip(b"c\n"));
        object.extend(gzip(b"d\ne\n"));
        let reader = LogReader::open(&object[..]).unwrap();
        assert!(reader.is_gzip());
        let (lines, totals) = collect(reader);
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[4].1, b"e");
        assert_eq!(totals.lines, 5);
    }

    #[test]
    fn plain_text_is_read_as_is_and_empty_input_has_no_lines() {
        let reader = LogReader::open(&b"plain\n"[..]).unwrap();
        assert!(!reader.is_gzip());
        assert_eq!(collect(reader).0.len(), 1);
        let (lines, totals) = collect(LogReader::open(&b""[..]).unwrap());
        assert!(lines.is_empty());
        assert_eq!(totals, LineTotals::default());
    }

    #[test]
    fn an_endless_line_is_cut_and_flagged_and_the_next_line_is_intact() {
        let mut text = vec![b'x'; MAX_LINE + 10];
        text.extend_from_slice(b"\nnext\n");
        let (lines, _) = collect(BufReader::with_capacity(4096, &text[..]));
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].1.len(), MAX_LINE);
        assert!(lines[0].2);
        assert_eq!((lines[1].1.as_slice(), lines[1].2), (&b"next"[..], false));
    }

    #[test]
    fn a_truncated_gzip_member_is_an_error_after_the_line_it_cut() {
        let text: Vec<u8> = (0..3000)
            .flat_map(|i| format!("line {i} {}\n", i * 7919 % 10007).into_bytes())
            .collect();
        let object = gzip(&text);
        let cut = &object[..object.len() / 2];
        let mut lines = Vec::new();
        let error = for_each_line(LogReader::open(cut).unwrap(), |line| {
            lines.push((line.bytes.to_vec(), line.cut))
        })
        .unwrap_err();
        let damage = Damage::of(&error).unwrap();
        assert_eq!((damage.kind, damage.offset), (DamageKind::Truncated, 0));
        // Every whole line, then what was read of the next one, marked as cut.
        let (last, whole) = lines.split_last().unwrap();
        assert!(whole.iter().all(|(_, cut)| !cut));
        assert!(last.1, "the last line is marked as cut");
        let read: Vec<u8> = whole
            .iter()
            .flat_map(|(bytes, _)| [&bytes[..], b"\n"].concat())
            .chain(last.0.iter().copied())
            .collect();
        assert!(text.starts_with(&read) && read.len() > text.len() / 4);
        assert!(
            !text[read.len()..].starts_with(b"\n"),
            "the cut is inside a line"
        );
    }

    #[test]
    fn a_gz_name_promises_gzip() {
        let not_gzip = LogReader::open_named(&b"plain text\n"[..], "x.log.gz");
        let damage = Damage::from_io(not_gzip.err().unwrap()).unwrap();
        assert_eq!((damage.kind, damage.offset), (DamageKind::NotGzip, 0));
        // Any other name: the content decides, as before.
        let plain = LogReader::open_named(&b"plain text\n"[..], "x.log").unwrap();
        assert_eq!(collect(plain).0.len(), 1);
        // Empty is no lines, not damage.
        let empty = LogReader::open_named(&b""[..], "x.log.gz").unwrap();
        assert!(collect(empty).0.is_empty());
        let object = gzip(b"a\n");
        let gzipped = LogReader::open_named(&object[..], "x.log.gz").unwrap();
        assert!(gzipped.is_gzip());
    }
}
