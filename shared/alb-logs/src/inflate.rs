//! Gzip decompression of log objects: whole members with libdeflate (about 2.2x zlib-rs's speed
//! on ALB logs here, see BENCHMARKS.md) while a member fits bounded buffers, and the streaming
//! decoder (flate2 / zlib-rs) from the first member that does not, to the end of the object.
//!
//! Memory stays bounded whatever the object's size: at most [`Limits::compressed`] bytes of
//! input and [`Limits::member`] bytes of one decompressed member are held. A member larger than
//! either, or one libdeflate refuses (damage, trailing garbage), is handed to the streaming
//! decoder at its first byte: it then yields what a streaming-only reader yields, the lines
//! before damage included, then a [`Damage`] error that says where the damaged member starts and
//! what is wrong with it.
//!
//! This file and `lines.rs` are also compiled on their own by the benchmark (`bench/`, with
//! flate2, libdeflate-sys and memchr only): hence std's `Error` by hand here, not `thiserror`.

use std::fmt;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};

use flate2::bufread::GzDecoder;

/// How much the fast path may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Compressed bytes buffered (a member must fit whole to take the fast path).
    pub compressed: usize,
    /// Bytes of one decompressed member.
    pub member: usize,
    /// The streaming decoder's buffers.
    pub stream_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            compressed: 8 << 20,
            member: 48 << 20,
            stream_buffer: 256 << 10,
        }
    }
}

/// What is wrong with a damaged gzip object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// The object ends inside a gzip member (an upload cut short).
    Truncated,
    /// Bytes after a whole member are not a gzip member.
    TrailingGarbage,
    /// A member's compressed data, or its checksum, is wrong.
    Corrupt,
    /// The object is named as gzip, but does not start with a gzip member.
    NotGzip,
}

impl DamageKind {
    /// Stable name, for error records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            DamageKind::Truncated => "truncated",
            DamageKind::TrailingGarbage => "trailing_garbage",
            DamageKind::Corrupt => "corrupt",
            DamageKind::NotGzip => "not_gzip",
        }
    }
}

/// Where and how a gzip object is damaged: the error a [`GzipReader`] returns once it has
/// yielded everything before the damage.
#[derive(Debug)]
pub struct Damage {
    pub kind: DamageKind,
    /// Offset in the object of its first byte that is not part of a whole, valid gzip member:
    /// the first byte of the damaged member, or of the bytes that are not gzip. Everything before
    /// it decompresses.
    pub offset: u64,
    /// What the decoder said, when it said something.
    cause: Option<io::Error>,
}

impl Damage {
    pub fn new(kind: DamageKind, offset: u64, cause: Option<io::Error>) -> Self {
        Damage {
            kind,
            offset,
            cause,
        }
    }

    /// The damage an I/O error carries, if it is one.
    pub fn of(error: &io::Error) -> Option<&Damage> {
        error.get_ref()?.downcast_ref()
    }

    /// The damage an I/O error carries, taken out of it; the error itself otherwise.
    pub fn from_io(error: io::Error) -> Result<Damage, io::Error> {
        if Damage::of(&error).is_none() {
            return Err(error);
        }
        let inner = error.into_inner().expect("checked above");
        Ok(*inner.downcast::<Damage>().expect("checked above"))
    }

    /// The sentence and the decoder's words, for records that keep one string.
    pub fn reason(&self) -> String {
        match &self.cause {
            Some(cause) => format!("{self}: {cause}"),
            None => self.to_string(),
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        match self.kind {
            DamageKind::Truncated => write!(
                f,
                "truncated: the object ends inside the gzip member that starts at byte {at}"
            ),
            DamageKind::TrailingGarbage => {
                write!(f, "the bytes from byte {at} on are not a gzip member")
            }
            DamageKind::Corrupt => write!(f, "the gzip member that starts at byte {at} is corrupt"),
            DamageKind::NotGzip => write!(
                f,
                "not gzip: the object is named as gzip, but byte {at} does not start a gzip member"
            ),
        }
    }
}

impl std::error::Error for Damage {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_ref()
            .map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

impl From<Damage> for io::Error {
    fn from(damage: Damage) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, damage)
    }
}

/// The streaming decoder over what was buffered and the rest of the source.
type Streaming<R> = BufReader<Members<R>>;

/// The compressed bytes the streaming decoder reads: what the fast path had buffered, then the
/// rest of the source.
type Compressed<R> = Tracked<BufReader<Chain<Cursor<Vec<u8>>, R>>>;

/// A gzip object as a buffered reader of its decompressed bytes (every member).
pub struct GzipReader<R: Read> {
    state: State<R>,
}

enum State<R: Read> {
    Fast(Box<Fast<R>>),
    Streaming(Box<Streaming<R>>),
    /// Only while switching.
    Switching,
}

struct Fast<R> {
    source: R,
    at_eof: bool,
    limits: Limits,
    /// Compressed bytes not yet decoded: `input[start..]`.
    input: Vec<u8>,
    start: usize,
    /// Offset in the object of `input[0]`.
    input_offset: u64,
    /// The current member's bytes not yet consumed: `output[pos..len]`.
    output: Vec<u8>,
    pos: usize,
    len: usize,
    decompressor: Decompressor,
}

enum Next {
    Member,
    End,
    Stream,
}

impl<R: Read> GzipReader<R> {
    pub fn new(source: R) -> Self {
        Self::with_limits(source, Limits::default())
    }

    pub fn with_limits(source: R, limits: Limits) -> Self {
        GzipReader {
            state: State::Fast(Box::new(Fast {
                source,
                at_eof: false,
                limits,
                input: Vec::new(),
                start: 0,
                input_offset: 0,
                output: Vec::new(),
                pos: 0,
                len: 0,
                decompressor: Decompressor::new(),
            })),
        }
    }

    /// Whether the streaming decoder has taken over (for tests and metrics).
    pub fn is_streaming(&self) -> bool {
        matches!(self.state, State::Streaming(_))
    }

    fn switch_to_streaming(&mut self) {
        let State::Fast(fast) = std::mem::replace(&mut self.state, State::Switching) else {
            unreachable!("only the fast path switches");
        };
        let Fast {
            source,
            mut input,
            start,
            input_offset,
            limits,
            ..
        } = *fast;
        input.drain(..start);
        let rest = BufReader::with_capacity(limits.stream_buffer, Cursor::new(input).chain(source));
        let members = Members::new(Tracked::at(rest, input_offset + start as u64));
        self.state = State::Streaming(Box::new(BufReader::with_capacity(
            limits.stream_buffer,
            members,
        )));
    }
}

impl<R: Read> Fast<R> {
    /// Decodes the next member into `output`, or says why the fast path ends.
    fn next_member(&mut self) -> io::Result<Next> {
        loop {
            if self.start == self.input.len() {
                if self.at_eof {
                    return Ok(Next::End);
                }
                self.refill()?;
                continue;
            }
            if self.output.is_empty() {
                self.output.resize(self.limits.member.min(8 << 20), 0);
            }
            match self
                .decompressor
                .gzip_member(&self.input[self.start..], &mut self.output)
            {
                Decoded::Member { read, written } => {
                    self.start += read;
                    self.pos = 0;
                    self.len = written;
                    return Ok(Next::Member);
                }
                Decoded::NoSpace if self.output.len() < self.limits.member => {
                    let grown = (self.output.len() * 2).min(self.limits.member);
                    self.output.resize(grown, 0);
                }
                Decoded::NoSpace => return Ok(Next::Stream),
                // Not a whole member in the buffer: more input if there is room, else it is
                // larger than the buffer, or damaged: the streaming decoder decides.
                Decoded::Refused => {
                    let room = self.input.len() - self.start < self.limits.compressed;
                    if self.at_eof || !room {
                        return Ok(Next::Stream);
                    }
                    self.refill()?;
                }
            }
        }
    }

    /// Moves the undecoded bytes to the front and reads until the buffer is full or the source
    /// ends.
    fn refill(&mut self) -> io::Result<()> {
        self.input.drain(..self.start);
        self.input_offset += self.start as u64;
        self.start = 0;
        let room = self.limits.compressed.saturating_sub(self.input.len());
        let read = (&mut self.source)
            .take(room as u64)
            .read_to_end(&mut self.input)?;
        // `take` stops at `room` bytes (callers leave room): fewer means the source ended.
        self.at_eof = read < room;
        Ok(())
    }
}

/// Compressed bytes that know the object offset of their next byte, and whether reading the
/// source failed (a network error is not damage: the object can be read again).
struct Tracked<B> {
    inner: B,
    offset: u64,
    source_failed: bool,
}

impl<B: BufRead> Tracked<B> {
    fn at(inner: B, offset: u64) -> Self {
        Tracked {
            inner,
            offset,
            source_failed: false,
        }
    }
}

impl<B: BufRead> BufRead for Tracked<B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self.inner.fill_buf() {
            Ok(buffer) => Ok(buffer),
            Err(error) => {
                self.source_failed = true;
                Err(error)
            }
        }
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
        self.offset += amount as u64;
    }
}

impl<B: BufRead> Read for Tracked<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The streaming decoder: one flate2 member decoder after the other (what flate2's
/// `MultiGzDecoder` does), knowing where each member starts, so that damage can say where it is.
struct Members<R: Read> {
    state: MemberState<R>,
    /// Offset in the object of the current member's first byte.
    member_start: u64,
}

enum MemberState<R: Read> {
    /// Boxed: a member decoder holds its inflate state; one allocation per member is nothing.
    Reading(Box<GzDecoder<Compressed<R>>>),
    Ended,
    /// An error was returned: nothing more to read.
    Failed,
}

impl<R: Read> Members<R> {
    fn new(input: Compressed<R>) -> Self {
        Members {
            member_start: input.offset,
            state: MemberState::Reading(Box::new(GzDecoder::new(input))),
        }
    }

    /// After a member's end: the next member's decoder, or the end of the object.
    fn next_member(&mut self) -> io::Result<()> {
        let MemberState::Reading(member) = std::mem::replace(&mut self.state, MemberState::Failed)
        else {
            unreachable!("only a member that was read ends");
        };
        let mut input = member.into_inner();
        if input.fill_buf()?.is_empty() {
            self.state = MemberState::Ended;
            return Ok(());
        }
        self.member_start = input.offset;
        self.state = MemberState::Reading(Box::new(GzDecoder::new(input)));
        Ok(())
    }

    /// The error to return for a failure of the current member: the source's own error as it
    /// is, anything else as [`Damage`] at the member's first byte.
    fn damage(&mut self, error: io::Error) -> io::Error {
        let state = std::mem::replace(&mut self.state, MemberState::Failed);
        let MemberState::Reading(member) = state else {
            return error;
        };
        if member.get_ref().source_failed {
            return error;
        }
        let kind = if error.kind() == io::ErrorKind::UnexpectedEof {
            DamageKind::Truncated
        } else if member.header().is_some() {
            DamageKind::Corrupt
        } else if self.member_start == 0 {
            DamageKind::NotGzip
        } else {
            DamageKind::TrailingGarbage
        };
        Damage::new(kind, self.member_start, Some(error)).into()
    }
}

impl<R: Read> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let member = match &mut self.state {
                MemberState::Reading(member) => member,
                MemberState::Ended => return Ok(0),
                MemberState::Failed => {
                    return Err(io::Error::other("the gzip object failed earlier"));
                }
            };
            match member.read(buf) {
                Ok(0) if !buf.is_empty() => {
                    if let Err(error) = self.next_member() {
                        return Err(self.damage(error));
                    }
                }
                Ok(n) => return Ok(n),
                Err(error) => return Err(self.damage(error)),
            }
        }
    }
}

impl<R: Read> BufRead for GzipReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        loop {
            match &mut self.state {
                State::Fast(fast) if fast.pos < fast.len => break,
                State::Fast(fast) => match fast.next_member()? {
                    Next::Member => {}
                    Next::End => break,
                    Next::Stream => self.switch_to_streaming(),
                },
                State::Streaming(_) => break,
                State::Switching => unreachable!("switching completes before returning"),
            }
        }
        match &mut self.state {
            State::Fast(fast) => Ok(&fast.output[fast.pos..fast.len]),
            State::Streaming(streaming) => streaming.fill_buf(),
            State::Switching => unreachable!("switching completes before returning"),
        }
    }

    fn consume(&mut self, amount: usize) {
        match &mut self.state {
            State::Fast(fast) => fast.pos = (fast.pos + amount).min(fast.len),
            State::Streaming(streaming) => streaming.consume(amount),
            State::Switching => {}
        }
    }
}

impl<R: Read> Read for GzipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

enum Decoded {
    Member {
        read: usize,
        written: usize,
    },
    /// The member does not fit the output buffer.
    NoSpace,
    /// Not a whole, valid member at the start of the input.
    Refused,
}

/// libdeflate's decompressor. The `libdeflater` crate does not expose the `_ex` call that says
/// how much input a member used, which a multi-member object needs, so this calls the C API
/// of its `-sys` crate directly.
struct Decompressor(std::ptr::NonNull<libdeflate_sys::libdeflate_decompressor>);

// SAFETY: a libdeflate decompressor is plain heap memory with no thread affinity; it is used
// through `&mut self` only, so never from two threads at once.
#[allow(unsafe_code)] // FFI to libdeflate (see above), the only unsafe code of this crate.
unsafe impl Send for Decompressor {}

#[allow(unsafe_code)] // FFI to libdeflate: allocation, decompression, release.
impl Decompressor {
    fn new() -> Self {
        // SAFETY: no arguments; returns null only when out of memory.
        let raw = unsafe { libdeflate_sys::libdeflate_alloc_decompressor() };
        Decompressor(std::ptr::NonNull::new(raw).expect("libdeflate: out of memory"))
    }

    /// One gzip member from the start of `input` into `output`.
    fn gzip_member(&mut self, input: &[u8], output: &mut [u8]) -> Decoded {
        let (mut read, mut written) = (0usize, 0usize);
        // SAFETY: the pointers and lengths come from live slices (input read-only, output
        // writable and not aliased); libdeflate writes at most `output.len()` bytes and the two
        // counts through valid `&mut usize`.
        let result = unsafe {
            libdeflate_sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                input.as_ptr().cast(),
                input.len(),
                output.as_mut_ptr().cast(),
                output.len(),
                &mut read,
                &mut written,
            )
        };
        match result {
            libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS => {
                Decoded::Member { read, written }
            }
            libdeflate_sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => Decoded::NoSpace,
            _ => Decoded::Refused,
        }
    }
}

#[allow(unsafe_code)] // FFI to libdeflate: release.
impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: allocated by `libdeflate_alloc_decompressor`, freed once.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::bufread::MultiGzDecoder;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Log-like text that compresses like logs do.
    fn text(lines: usize, seed: usize) -> Vec<u8> {
        (0..lines)
            .flat_map(|i| {
                format!(
                    "https 2026-11-25T10:{:02}:{:02}.{:06}Z app/web/1 10.0.{}.{}:{} \"GET /p/{} HTTP/1.1\"\n",
                    i % 60,
                    (i * 7 + seed) % 60,
                    i * 31 % 1_000_000,
                    i % 250,
                    (i * 13 + seed) % 250,
                    1024 + i % 50_000,
                    i * seed % 9973
                )
                .into_bytes()
            })
            .collect()
    }

    /// A reader that hands out at most `chunk` bytes a call, like a network body.
    struct Chunked<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn streaming_only(object: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let failed = MultiGzDecoder::new(object).read_to_end(&mut out).is_err();
        (out, failed)
    }

    fn fast(object: &[u8], limits: Limits) -> (Vec<u8>, bool, bool) {
        let mut reader = GzipReader::with_limits(
            Chunked {
                data: object,
                chunk: 777,
            },
            limits,
        );
        let mut out = Vec::new();
        let failed = reader.read_to_end(&mut out).is_err();
        (out, failed, reader.is_streaming())
    }

    fn limits(compressed: usize, member: usize) -> Limits {
        Limits {
            compressed,
            member,
            stream_buffer: 4096,
        }
    }

    #[test]
    fn members_of_every_size_read_back_as_the_streaming_decoder_reads_them() {
        let mut object = Vec::new();
        let mut expected = Vec::new();
        for (i, lines) in [1, 10, 500, 3, 2_000, 0, 40].into_iter().enumerate() {
            let member = text(lines, i);
            object.extend(gzip(&member));
            expected.extend(member);
        }
        assert_eq!(streaming_only(&object), (expected.clone(), false));
        // Buffers large enough for everything; just enough for one member at a time (refills
        // and output growth); too small for the large members (the streaming decoder takes
        // over mid-object).
        for (limits, streams) in [
            (limits(1 << 20, 1 << 20), false),
            (limits(64 << 10, 256 << 10), false),
            (limits(8 << 10, 1 << 20), true),
            (limits(1 << 20, 16 << 10), true),
        ] {
            let (out, failed, streaming) = fast(&object, limits);
            assert_eq!(out, expected, "{limits:?}");
            assert!(!failed, "{limits:?}");
            assert_eq!(streaming, streams, "{limits:?}");
        }
    }

    #[test]
    fn damage_yields_what_the_streaming_decoder_yields_then_an_error() {
        let mut object = gzip(&text(300, 1));
        let second = gzip(&text(3_000, 2));
        let damaged_at = object.len() + second.len() / 2;
        object.extend(second);
        object.extend(gzip(&text(10, 3)));
        object[damaged_at] ^= 0x55;
        object[damaged_at + 1] ^= 0xAA;
        let (expected, expected_failed) = streaming_only(&object);
        assert!(expected_failed);
        let (out, failed, streaming) = fast(&object, Limits::default());
        assert!(failed && streaming);
        assert_eq!(out, expected, "the same bytes before the error");
    }

    #[test]
    fn a_truncated_last_member_is_an_error_after_the_whole_members() {
        let first = text(200, 1);
        let mut object = gzip(&first);
        let last = gzip(&text(2_000, 2));
        object.extend(&last[..last.len() / 2]);
        let (out, failed, _) = fast(&object, Limits::default());
        assert!(failed);
        assert!(out.starts_with(&first));
        assert_eq!(out, streaming_only(&object).0);
    }

    /// What a [`GzipReader`] with `limits` yields of `object`, and the damage it then reports.
    fn read_to_damage(object: &[u8], limits: Limits) -> (Vec<u8>, Damage) {
        let mut reader = GzipReader::with_limits(
            Chunked {
                data: object,
                chunk: 777,
            },
            limits,
        );
        let mut out = Vec::new();
        let error = reader.read_to_end(&mut out).expect_err("damaged");
        let damage = Damage::from_io(error).unwrap_or_else(|e| panic!("not damage: {e}"));
        (out, damage)
    }

    #[test]
    fn damage_says_where_the_damaged_member_starts_and_what_is_wrong() {
        let (one, two) = (text(300, 1), text(3_000, 2));
        let (first, second) = (gzip(&one), gzip(&two));
        let whole = [first.clone(), second.clone()].concat();
        let cut = [&first[..], &second[..second.len() / 2]].concat();
        let garbage = [&whole[..], b"this is not gzip\n"].concat();
        let zeros = [&whole[..], &[0u8; 64]].concat();
        let mut flipped = [&whole[..], &gzip(&text(10, 3))].concat();
        let middle = first.len() + second.len() / 2;
        flipped[middle] ^= 0x55;
        flipped[middle + 1] ^= 0xAA;
        // A gzip magic, then a compression method that is not deflate.
        let bad_header = b"\x1f\x8b\x09\x00\x00\x00\x00\x00\x00\x03rest".to_vec();
        let cases: [(&str, &[u8], DamageKind, usize); 5] = [
            (
                "cut in the second member",
                &cut,
                DamageKind::Truncated,
                first.len(),
            ),
            (
                "text after the last member",
                &garbage,
                DamageKind::TrailingGarbage,
                whole.len(),
            ),
            (
                "zeros after the last member",
                &zeros,
                DamageKind::TrailingGarbage,
                whole.len(),
            ),
            (
                "bytes flipped in the second member",
                &flipped,
                DamageKind::Corrupt,
                first.len(),
            ),
            (
                "not deflate from the start",
                &bad_header,
                DamageKind::NotGzip,
                0,
            ),
        ];
        // The fast path up to the damage; streaming from the second member; streaming from the
        // first (member offsets then come from the streaming decoder alone).
        for limits in [
            Limits::default(),
            limits(8 << 10, 1 << 20),
            limits(512, 1 << 20),
        ] {
            for (what, object, kind, offset) in cases {
                let (out, damage) = read_to_damage(object, limits);
                assert_eq!(
                    (damage.kind, damage.offset),
                    (kind, offset as u64),
                    "{what}, {limits:?}"
                );
                // Everything before the damage was yielded first.
                assert_eq!(out, streaming_only(object).0, "{what}, {limits:?}");
                if offset >= whole.len() {
                    assert_eq!(out, [&one[..], &two[..]].concat(), "{what}");
                } else if offset > 0 {
                    assert!(out.starts_with(&one), "{what}");
                }
                assert!(!damage.reason().is_empty());
            }
        }
    }

    #[test]
    fn a_failing_source_is_not_damage() {
        struct FailsAfter<'a>(&'a [u8], usize);
        impl Read for FailsAfter<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 == 0 {
                    return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
                }
                let n = buf.len().min(self.1).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                (self.0, self.1) = (&self.0[n..], self.1 - n);
                Ok(n)
            }
        }
        let object = [gzip(&text(300, 1)), gzip(&text(3_000, 2))].concat();
        for limits in [Limits::default(), limits(512, 1 << 20)] {
            let mut reader = GzipReader::with_limits(FailsAfter(&object, object.len() / 2), limits);
            let error = reader.read_to_end(&mut Vec::new()).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{limits:?}");
            assert!(Damage::of(&error).is_none(), "{limits:?}");
        }
    }

    #[test]
    fn trailing_bytes_after_the_last_member_are_treated_as_the_streaming_decoder_treats_them() {
        let mut object = gzip(&text(100, 1));
        object.extend_from_slice(&[0u8; 64]);
        let (expected, expected_failed) = streaming_only(&object);
        let (out, failed, _) = fast(&object, Limits::default());
        assert_eq!((out, failed), (expected, expected_failed));
    }
}
