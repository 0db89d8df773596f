//! What MCCP2 costs: memory per connection, compression ratio on MUD-like output, and CPU per
//! write, for the gateway's compressor (a thread's deflate state reset before each write)
//! against the design it replaced (one zlib stream kept open per connection).
//!
//! The figures only mean something in an optimised build:
//! `cargo test --release -p mush-connection-server --test mccp_cost -- --ignored --nocapture`

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use flate2::{Compress, Compression, FlushCompress};
use mush_connection_server::telnet::Compressor;

/// Counts the bytes allocated and not yet freed, to weigh what one connection holds.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// The replaced design: one zlib stream per connection, sync-flushed after each write.
struct KeptStream(Compress);

impl KeptStream {
    fn new() -> Self {
        Self(Compress::new(Compression::default(), true))
    }

    fn compress(&mut self, plain: &[u8], out: &mut Vec<u8>) {
        let mut input = plain;
        loop {
            out.reserve(input.len() + 64);
            let before = self.0.total_in();
            self.0.compress_vec(input, out, FlushCompress::Sync).unwrap();
            input = &input[(self.0.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                return;
            }
        }
    }
}

/// A small deterministic generator (xorshift), so every run measures the same text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "Alice",
    "Bartholomew",
    "Cyra",
    "Dax",
    "Elowen",
    "Fitz",
    "Gwendolyn",
    "Hob",
    "Isolde",
    "Jareth",
    "Kestrel",
    "Lark",
    "Morrigan",
    "Nyx",
    "Orrin",
    "Pip",
];
const WORDS: &[&str] = &[
    "the", "a", "of", "and", "to", "in", "is", "you", "that", "it", "ancient", "tower", "lantern", "shadow",
    "river", "stone", "market", "guard", "quest", "sword", "whisper", "north", "gate", "tavern", "ale",
    "storm", "silver", "dragon", "map", "door", "key", "room", "window", "candle", "forest", "path",
    "bridge", "castle", "king", "queen", "thief", "coin", "scroll", "spell", "potion", "wizard", "garden",
    "well", "bell", "tomorrow", "tonight", "maybe", "really", "think", "know", "want", "need", "look",
    "find", "bring", "meet", "over", "under", "behind",
];
const EXITS: &[&str] = &["north", "south", "east", "west", "up", "down", "out", "in"];

/// A sentence of `min` to `min + spread - 1` words.
fn sentence(r: &mut Rng, min: usize, spread: usize) -> String {
    let words = min + r.below(spread);
    let mut s: Vec<&str> = (0..words).map(|_| r.pick(WORDS)).collect();
    let first = s[0].to_owned();
    let mut capital = first[..1].to_uppercase();
    capital.push_str(&first[1..]);
    s[0] = "";
    format!("{capital}{}", s.join(" "))
}

/// One write of typical MUSH output: chatter, a room, a WHO list, each often followed by a
/// prompt, in ANSI colour now and then.
fn write(r: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    match r.below(20) {
        0..=8 => {
            let who = r.pick(NAMES);
            let text = sentence(r, 4, 14);
            match r.below(3) {
                0 => out.push_str(&format!("{who} says, \"{text}.\"\r\n")),
                1 => out.push_str(&format!("\x1b[1;36m[Public]\x1b[0m {who}: {text}\r\n")),
                _ => out.push_str(&format!("{who} {}.\r\n", sentence(r, 6, 10).to_lowercase())),
            }
        }
        9..=14 => {
            out.push_str(&format!(
                "\x1b[1m{} {}\x1b[0m\r\n",
                r.pick(&["The", "A"]),
                sentence(r, 2, 1)
            ));
            for _ in 0..3 + r.below(4) {
                out.push_str(&sentence(r, 10, 10));
                out.push_str(". ");
            }
            out.push_str("\r\nObvious exits: ");
            let exits: Vec<&str> = (0..1 + r.below(4)).map(|_| r.pick(EXITS)).collect();
            out.push_str(&exits.join(", "));
            out.push_str("\r\nContents:\r\n");
            for _ in 0..r.below(5) {
                out.push_str(&format!("  {}\r\n", r.pick(NAMES)));
            }
        }
        15 => {
            out.push_str("Player Name        On For Idle  Doing\r\n");
            for _ in 0..10 + r.below(30) {
                out.push_str(&format!(
                    "{:<18} {:>2}:{:02} {:>4}s  {}\r\n",
                    r.pick(NAMES),
                    r.below(24),
                    r.below(60),
                    r.below(900),
                    sentence(r, 1, 4)
                ));
            }
            out.push_str(&format!("{} players logged in.\r\n", 10 + r.below(30)));
        }
        _ => out.push_str(&format!("You {}.\r\n", sentence(r, 3, 6).to_lowercase())),
    }
    if r.below(2) == 0 {
        out.push_str(&format!("<HP:{} MP:{}> ", r.below(100), r.below(100)));
    }
    out.into_bytes()
}

fn corpus(writes: usize) -> Vec<Vec<u8>> {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    (0..writes).map(|_| write(&mut r)).collect()
}

fn inflate(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(wire)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
#[ignore = "prints measurements; run in release with --ignored --nocapture"]
fn mccp_costs_per_connection_ratio_and_cpu() {
    let writes = corpus(5000);
    let plain: usize = writes.iter().map(Vec::len).sum();
    let mean = plain / writes.len();

    // Memory held per connection between writes.
    const N: isize = 200;
    let sample = &writes[..3];
    let mut scratch = Vec::with_capacity(1 << 16);
    Compressor::new().compress(&sample[0], &mut scratch); // this thread's deflate state, made once
    let before = live();
    let mut kept: Vec<KeptStream> = (0..N).map(|_| KeptStream::new()).collect();
    for s in &mut kept {
        for w in sample {
            scratch.clear();
            s.compress(w, &mut scratch);
        }
    }
    let old_per_conn = (live() - before) / N;
    drop(kept);
    let before = live();
    let mut small: Vec<Compressor> = (0..N).map(|_| Compressor::new()).collect();
    for c in &mut small {
        for w in sample {
            scratch.clear();
            c.compress(w, &mut scratch);
        }
    }
    let new_heap_per_conn = (live() - before) / N - std::mem::size_of::<Compressor>() as isize;
    drop(small);
    let thread_state = {
        let before = live();
        let c = Compress::new(Compression::default(), false);
        let bytes = live() - before;
        drop(c);
        bytes
    };

    // Ratio over the whole corpus: one connection receiving every write.
    let mut old_wire = Vec::new();
    let mut old = KeptStream::new();
    for w in &writes {
        old.compress(w, &mut old_wire);
    }
    let mut new_wire = Vec::new();
    let mut new = Compressor::new();
    for w in &writes {
        new.compress(w, &mut new_wire);
    }
    new.finish(&mut new_wire);
    let all: Vec<u8> = writes.concat();
    assert_eq!(
        inflate(&new_wire),
        all,
        "the new stream decodes to what was written"
    );

    // CPU per write.
    let rounds = 5;
    let t = Instant::now();
    for _ in 0..rounds {
        let mut s = KeptStream::new();
        for w in &writes {
            scratch.clear();
            s.compress(w, &mut scratch);
        }
    }
    let old_ns = t.elapsed().as_nanos() as f64 / (rounds * writes.len()) as f64;
    let t = Instant::now();
    for _ in 0..rounds {
        let mut c = Compressor::new();
        for w in &writes {
            scratch.clear();
            c.compress(w, &mut scratch);
        }
    }
    let new_ns = t.elapsed().as_nanos() as f64 / (rounds * writes.len()) as f64;
    let mut lone = Compress::new(Compression::default(), false);
    let resets = 20_000;
    let t = Instant::now();
    for _ in 0..resets {
        lone.reset();
    }
    let reset_ns = t.elapsed().as_nanos() as f64 / f64::from(resets);

    println!(
        "MCCP2 over {} writes, {plain} bytes (mean {mean} bytes a write):",
        writes.len()
    );
    println!(
        "  memory per connection: kept stream {old_per_conn} bytes; new {} bytes inline + {new_heap_per_conn} heap \
         (plus one {thread_state}-byte deflate state per worker thread)",
        std::mem::size_of::<Compressor>()
    );
    println!(
        "  ratio: kept stream {:.2}x ({} bytes); new {:.2}x ({} bytes)",
        plain as f64 / old_wire.len() as f64,
        old_wire.len(),
        plain as f64 / new_wire.len() as f64,
        new_wire.len()
    );
    println!(
        "  CPU per write: kept stream {old_ns:.0} ns; new {new_ns:.0} ns, of which reset {reset_ns:.0} ns"
    );
    assert!(
        new_heap_per_conn <= 0,
        "a connection holds no heap between writes"
    );
    assert!(old_per_conn > 100_000, "the kept stream holds its deflate state");
}
