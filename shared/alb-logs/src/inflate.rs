//! Gzip decompression of log objects: whole members with libdeflate (about 2.2x zlib-rs's speed
//! on ALB logs here, see BENCHMARKS.md) while a member fits bounded buffers, and the streaming
//! decoder (flate2 / zlib-rs) from the first member that does not, to the end of the object.
//!
//! Memory stays bounded whatever the object's size: at most [`Limits::compressed`] bytes of
//! input and [`Limits::member`] bytes of one decompressed member are held. A member larger than
//! either, or one libdeflate refuses (damage, trailing garbage), is handed to the streaming
//! decoder at its first byte: it then behaves exactly as a streaming-only reader does, including
//! yielding the lines before damage before its error.

use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};

use flate2::bufread::MultiGzDecoder;

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

/// The streaming decoder over what was buffered and the rest of the source.
type Streaming<R> = BufReader<MultiGzDecoder<BufReader<Chain<Cursor<Vec<u8>>, R>>>>;

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
            limits,
            ..
        } = *fast;
        input.drain(..start);
        let rest = BufReader::with_capacity(limits.stream_buffer, Cursor::new(input).chain(source));
        self.state = State::Streaming(Box::new(BufReader::with_capacity(
            limits.stream_buffer,
            MultiGzDecoder::new(rest),
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

    #[test]
    fn trailing_bytes_after_the_last_member_are_treated_as_the_streaming_decoder_treats_them() {
        let mut object = gzip(&text(100, 1));
        object.extend_from_slice(&[0u8; 64]);
        let (expected, expected_failed) = streaming_only(&object);
        let (out, failed, _) = fast(&object, Limits::default());
        assert_eq!((out, failed), (expected, expected_failed));
    }
}
