//! Property tests: any bytes and any mutation of a real pickle scan without panicking and
//! within the memory the limits allow; any pickle of plain literals is benign.

#![allow(clippy::unwrap_used)]
// a failed unwrap is a failed test

// The peak-memory check needs a counting global allocator, which is `unsafe` to write.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use common::*;
use proptest::prelude::*;
use rampart_core::Limits;
use rampart_pickle::{PickleConfig, looks_like_pickle};

/// Counts the bytes each thread has allocated and not freed, and the peak.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters are
// thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as isize));
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size as isize - layout.size() as isize);
        // SAFETY: as for `alloc`/`dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated while `f` runs, beyond what was live before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let result = f();
    let peak = PEAK.with(Cell::get) - base;
    (result, usize::try_from(peak).unwrap_or(0))
}

fn small_limits() -> Limits {
    Limits {
        max_pickle_opcodes: 200_000,
        max_pickle_memory_entries: 10_000,
        max_pickles_per_stream: 8,
        ..Limits::default()
    }
}

/// What a scan may allocate under [`small_limits`]: the entries (each at most a few hundred
/// bytes with container slack), text decoded from the input, and the bounded findings.
fn memory_bound(input_len: usize) -> usize {
    10_000 * 400 + 8 * input_len + (1 << 20)
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seeds = Vec::new();
    for kind in ["benign", "malicious"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        seeds.extend(paths.iter().map(|p| std::fs::read(p).unwrap()));
    }
    seeds
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutate(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = data.len().max(1);
        match *mutation {
            Mutation::Flip(at, byte) => {
                if let Some(b) = data.get_mut(at % len) {
                    *b ^= byte;
                }
            }
            Mutation::Insert(at, byte) => data.insert(at % (data.len() + 1), byte),
            Mutation::Remove(at) => {
                if !data.is_empty() {
                    data.remove(at % len);
                }
            }
            Mutation::Truncate(at) => data.truncate(at % len),
        }
    }
    data
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn literal() -> impl Strategy<Value = Lit> {
    let leaf = prop_oneof![
        Just(Lit::None),
        any::<bool>().prop_map(Lit::Bool),
        any::<i64>().prop_map(Lit::Int),
        proptest::collection::vec(any::<u8>(), 9..24).prop_map(Lit::Big),
        any::<f64>().prop_map(Lit::Float),
        ".{0,24}".prop_map(Lit::Str),
        "__[a-z]{1,8}__".prop_map(Lit::Str),
        proptest::collection::vec(any::<u8>(), 0..48).prop_map(Lit::Bytes),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Lit::List),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Lit::Tuple),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..6).prop_map(Lit::Dict),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Lit::Set),
            proptest::collection::vec(inner, 0..6).prop_map(Lit::FrozenSet),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_scan_within_bounds(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = looks_like_pickle(&data);
        let ((info, _), peak) = peak_during(|| scan_with(&PickleConfig::default(), &small_limits(), &data));
        prop_assert!(info.end <= data.len());
        prop_assert!(peak < memory_bound(data.len()), "peak {peak} bytes");
    }

    #[test]
    fn mutated_pickles_scan_within_bounds(
        seed in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..8),
    ) {
        let seeds = seeds();
        let data = mutate(seed.get(&seeds).clone(), &mutations);
        let _ = looks_like_pickle(&data[..data.len().min(4096)]);
        let ((info, found), peak) = peak_during(|| scan_with(&PickleConfig::default(), &small_limits(), &data));
        prop_assert!(info.end <= data.len());
        prop_assert!(found.len() <= 300);
        prop_assert!(peak < memory_bound(data.len()), "peak {peak} bytes");
    }

    #[test]
    fn pickles_of_literals_are_benign(value in literal(), protocol in 0u8..=5) {
        let data = pickle(&value, protocol);
        let (info, found) = scan(&data);
        prop_assert!(found.is_empty(), "protocol {protocol}: {}", dump(&found));
        prop_assert_eq!(info.end, data.len());
        prop_assert!(protocol < 2 || looks_like_pickle(&data));
    }
}

#[test]
fn repeated_payloads_stay_within_bounds() {
    // A memoized 1 MB string handed to a thousand calls and a thousand pickle.loads: the
    // machine must neither copy nor rescan it each time.
    let big = vec![b'a'; 1 << 20];
    let mut data = cat(&[
        b"\x80\x04\x8e",
        &(big.len() as u64).to_le_bytes(),
        &big,
        b"\x94",
    ]);
    for _ in 0..1000 {
        data.extend_from_slice(&stack_global("mylib", "f"));
        data.extend_from_slice(b"h\x00\x85R0");
        data.extend_from_slice(&stack_global("pickle", "loads"));
        data.extend_from_slice(b"h\x00\x85R0");
    }
    data.push(b'N');
    data.push(b'.');
    let start = std::time::Instant::now();
    let ((_, found), peak) = peak_during(|| scan(&data));
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
    assert!(peak > 0 && peak < 8 << 20, "peak {peak} bytes");
    let calls: Vec<_> = found
        .iter()
        .filter(|f| f.rule.id == "pickle/disallowed-call")
        .collect();
    assert_eq!(calls.len(), 2, "{}", dump(&found));
    assert!(
        calls
            .iter()
            .all(|f| f.message.ends_with("(and 999 more times)")),
        "{}",
        dump(&found)
    );
    only(&found, "pickle/nested-pickle");
}
