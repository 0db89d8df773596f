//! MCCP2 output compression: one zlib stream for everything written after `IAC SB COMPRESS2
//! IAC SE`.
//!
//! Text-heavy MUSH output shrinks several times over, which matters for players on slow or
//! metered links. Every `compress` call ends with a sync flush, so the client can decompress
//! and show each write at once instead of waiting for the compressor to fill a block; `finish`
//! ends the stream cleanly before the gateway closes the socket, as the MCCP2 specification asks.

use flate2::{Compress, Compression, FlushCompress, Status};

#[derive(Debug)]
pub struct Compressor {
    stream: Compress,
    finished: bool,
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new()
    }
}

impl Compressor {
    pub fn new() -> Self {
        Self {
            stream: Compress::new(Compression::default(), true),
            finished: false,
        }
    }

    /// Appends the compressed form of `plain` to `out`, sync-flushed (the client can decode all
    /// of it as soon as it arrives). Nothing is written for empty input or after `finish`.
    pub fn compress(&mut self, plain: &[u8], out: &mut Vec<u8>) {
        if plain.is_empty() || self.finished {
            return;
        }
        self.run(plain, out, FlushCompress::Sync);
    }

    /// Ends the zlib stream (the client sees a clean end of compression). Later calls to
    /// `compress` write nothing.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.finished = true;
            self.run(&[], out, FlushCompress::Finish);
        }
    }

    fn run(&mut self, mut input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
        loop {
            // Deflate never grows data by more than a few bytes per block plus the flush marker.
            out.reserve(input.len() + 64);
            let (in_before, out_before) = (self.stream.total_in(), self.stream.total_out());
            let Ok(status) = self.stream.compress_vec(input, out, flush) else {
                // Only possible on misuse of the stream; nothing sensible is left to write.
                return;
            };
            let consumed = (self.stream.total_in() - in_before) as usize;
            let produced = self.stream.total_out() - out_before;
            input = &input[consumed.min(input.len())..];
            let room_left = out.len() < out.capacity();
            let done = match flush {
                FlushCompress::Finish => status == Status::StreamEnd,
                _ => input.is_empty() && room_left,
            };
            if done || (consumed == 0 && produced == 0 && room_left) {
                return;
            }
        }
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
        let plain: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
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
}
