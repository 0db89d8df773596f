//! MCCP2 output compression: one zlib stream for everything written after `IAC SB COMPRESS2
//! IAC SE`, at a few bytes of state per connection.
//!
//! Text-heavy MUSH output shrinks several times over, which matters for players on slow or
//! metered links. But a zlib stream kept open per connection holds its whole deflate state
//! (about 300 KiB with the Rust backend: window, hash chains, symbol buffer), so a few thousand
//! compressing clients would exhaust a gateway. So no connection keeps one: each write is
//! compressed by a deflate state borrowed from the worker thread, reset first and ended with a
//! sync flush. A write is then a byte-aligned run of deflate blocks, none final, that refers to
//! nothing written before it, and any sequence of them continues one valid deflate stream. What
//! a connection keeps is the stream's framing: whether the 2-byte zlib header went out, and the
//! running Adler-32 of everything it compressed, written with an empty final block by `finish`.
//!
//! The price: matches never reach into earlier writes, and each write pays for a reset of the
//! borrowed state. Writes are whole batches of game output (up to 64 messages), which keeps
//! most of the ratio; the `tests/mccp_cost.rs` figures measure both.

use std::cell::RefCell;

use flate2::{Compress, Compression, FlushCompress, Status};

/// The zlib header: deflate with a 32 KiB window, default level, no preset dictionary
/// (0x789C is a multiple of 31, as RFC 1950 asks).
const ZLIB_HEADER: [u8; 2] = [0x78, 0x9C];
/// A final fixed-Huffman block holding only end-of-block: closes the deflate stream that the
/// sync-flushed writes left open.
const FINAL_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];

thread_local! {
    /// The raw deflate state this thread lends to every compressing connection, made on first
    /// use (one per worker thread, never one per connection).
    static DEFLATE: RefCell<Option<Compress>> = const { RefCell::new(None) };
}

/// One connection's MCCP2 stream.
#[derive(Debug, Default)]
pub struct Compressor {
    adler: Adler32,
    header_written: bool,
    finished: bool,
}

impl Compressor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the compressed form of `plain` to `out`, sync-flushed (the client can decode all
    /// of it as soon as it arrives). Nothing is written for empty input or after `finish`.
    pub fn compress(&mut self, plain: &[u8], out: &mut Vec<u8>) {
        if plain.is_empty() || self.finished {
            return;
        }
        self.write_header(out);
        self.adler.update(plain);
        DEFLATE.with(|cell| {
            let mut cell = cell.borrow_mut();
            let deflate = cell.get_or_insert_with(|| Compress::new(Compression::default(), false));
            deflate.reset();
            run(deflate, plain, out);
        });
    }

    /// Ends the zlib stream (the client sees a clean end of compression). Later calls to
    /// `compress` write nothing.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.write_header(out);
        out.extend_from_slice(&FINAL_EMPTY_BLOCK);
        out.extend_from_slice(&self.adler.value().to_be_bytes());
    }

    fn write_header(&mut self, out: &mut Vec<u8>) {
        if !self.header_written {
            self.header_written = true;
            out.extend_from_slice(&ZLIB_HEADER);
        }
    }
}

/// Compresses all of `input` into `out`, ending with a sync flush.
fn run(deflate: &mut Compress, mut input: &[u8], out: &mut Vec<u8>) {
    loop {
        // Deflate never grows data by more than a few bytes per block plus the flush marker.
        out.reserve(input.len() + 64);
        let (in_before, out_before) = (deflate.total_in(), deflate.total_out());
        let Ok(status) = deflate.compress_vec(input, out, FlushCompress::Sync) else {
            // Only possible on misuse of the stream; nothing sensible is left to write.
            return;
        };
        let consumed = (deflate.total_in() - in_before) as usize;
        let produced = deflate.total_out() - out_before;
        input = &input[consumed.min(input.len())..];
        let room_left = out.len() < out.capacity();
        let done = input.is_empty() && room_left;
        if done || status == Status::StreamEnd || (consumed == 0 && produced == 0 && room_left) {
            return;
        }
    }
}

/// The Adler-32 checksum (RFC 1950) of everything compressed so far: two running sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Adler32 {
    a: u32,
    b: u32,
}

impl Default for Adler32 {
    fn default() -> Self {
        Self { a: 1, b: 0 }
    }
}

impl Adler32 {
    const MOD: u32 = 65_521;
    /// The most bytes summed before `b` could overflow a u32 (zlib's NMAX).
    const CHUNK: usize = 5552;

    fn update(&mut self, data: &[u8]) {
        for chunk in data.chunks(Self::CHUNK) {
            for &byte in chunk {
                self.a += u32::from(byte);
                self.b += self.a;
            }
            self.a %= Self::MOD;
            self.b %= Self::MOD;
        }
    }

    fn value(self) -> u32 {
        (self.b << 16) | self.a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    fn inflate(d: &mut Decompress, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() * 20 + 1024);
        d.decompress_vec(data, &mut out, FlushDecompress::Sync).unwrap();
        out
    }

    /// Pseudo-random bytes (deterministic), incompressible.
    fn noise(n: usize, seed: u32) -> Vec<u8> {
        (0..n as u32)
            .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect()
    }

    #[test]
    fn the_checksum_is_adler32() {
        let mut a = Adler32::default();
        a.update(b"Wikipedia");
        assert_eq!(a.value(), 0x11E6_0398);
        // Long input in odd pieces: the sums never overflow and pieces do not matter.
        let data = vec![0xFFu8; 100_000];
        let mut whole = Adler32::default();
        whole.update(&data);
        let mut pieces = Adler32::default();
        for piece in data.chunks(7777) {
            pieces.update(piece);
        }
        assert_eq!(whole, pieces);
        assert_eq!(Adler32::default().value(), 1);
    }

    #[test]
    fn each_write_decompresses_fully_on_its_own() {
        let mut c = Compressor::new();
        let mut d = Decompress::new(true);
        let mut wire = Vec::new();
        c.compress(b"Welcome to the MUSH!\r\n", &mut wire);
        // Without waiting for more output, the client can render the first write.
        assert_eq!(inflate(&mut d, &wire), b"Welcome to the MUSH!\r\n");
        let mut more = Vec::new();
        c.compress(b"You see a room.\r\n", &mut more);
        assert_eq!(inflate(&mut d, &more), b"You see a room.\r\n");
    }

    #[test]
    fn large_and_incompressible_writes_survive() {
        let mut c = Compressor::new();
        let mut d = Decompress::new(true);
        let plain = noise(200_000, 0);
        let mut wire = Vec::new();
        c.compress(&plain, &mut wire);
        let mut out = Vec::with_capacity(plain.len() + 1024);
        d.decompress_vec(&wire, &mut out, FlushDecompress::Sync).unwrap();
        assert_eq!(out, plain);
    }

    #[test]
    fn finish_ends_the_stream_and_nothing_follows() {
        let mut c = Compressor::new();
        let mut d = Decompress::new(true);
        let mut wire = Vec::new();
        c.compress(b"bye\r\n", &mut wire);
        c.finish(&mut wire);
        let len = wire.len();
        c.compress(b"late", &mut wire);
        c.finish(&mut wire);
        assert_eq!(wire.len(), len);
        let mut out = Vec::with_capacity(1024);
        let status = d
            .decompress_vec(&wire, &mut out, FlushDecompress::Finish)
            .unwrap();
        assert_eq!(status, Status::StreamEnd);
        assert_eq!(out, b"bye\r\n");
    }

    #[test]
    fn a_stream_finished_before_any_output_is_still_valid() {
        let mut c = Compressor::new();
        let mut wire = Vec::new();
        c.finish(&mut wire);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&wire[..]), &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_wrong_checksum_is_caught_by_the_decoder() {
        let mut c = Compressor::new();
        let mut wire = Vec::new();
        c.compress(b"checked", &mut wire);
        c.finish(&mut wire);
        let last = wire.len() - 1;
        wire[last] ^= 1;
        let mut out = Vec::new();
        let read = std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&wire[..]), &mut out);
        assert!(read.is_err(), "the decoder verifies the Adler-32 we wrote");
    }

    /// Many connections share this thread's deflate state, their writes interleaved: each
    /// stream, read by a standard zlib decoder, is exactly what was written to it, checksum
    /// included.
    #[test]
    fn interleaved_connections_each_decode_byte_exactly_to_the_end() {
        const CONNECTIONS: usize = 5;
        let mut streams: Vec<(Compressor, Vec<u8>, Vec<u8>)> = (0..CONNECTIONS)
            .map(|_| (Compressor::new(), Vec::new(), Vec::new()))
            .collect();
        for round in 0..400u32 {
            let which = (round.wrapping_mul(7919) % CONNECTIONS as u32) as usize;
            let plain: Vec<u8> = match round % 4 {
                0 => format!("Alice says, \"Round {round} of the game.\"\r\n").into_bytes(),
                1 => "The Great Hall\r\nA long room with a vaulted ceiling.\r\n"
                    .repeat(1 + round as usize % 5)
                    .into_bytes(),
                2 => noise(1 + round as usize * 37 % 3000, round),
                _ => vec![b'x'; round as usize * 101 % 70_000 + 1],
            };
            let (c, wire, sent) = &mut streams[which];
            c.compress(&plain, wire);
            sent.extend_from_slice(&plain);
        }
        for (c, wire, sent) in &mut streams {
            c.finish(wire);
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&wire[..]), &mut out)
                .expect("a valid zlib stream with a right checksum");
            assert_eq!(out.len(), sent.len());
            assert!(out == *sent);
        }
    }

    #[test]
    fn a_connection_keeps_a_few_bytes_of_state() {
        assert!(
            std::mem::size_of::<Compressor>() <= 16,
            "{}",
            std::mem::size_of::<Compressor>()
        );
    }
}
