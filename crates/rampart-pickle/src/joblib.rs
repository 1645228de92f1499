//! joblib's inline arrays. `joblib.dump` pickles each NumPy array as a
//! `NumpyArrayWrapper` and writes the array's raw bytes right after the BUILD that sets
//! the wrapper's state; joblib's unpickler reads them at that point. For object arrays the
//! inline data is a nested pickle instead. This module works out how many bytes follow.

use crate::policy::Special;
use crate::value::{Heap, SeqKind, Slot, Value};

/// What a NumPy dtype means for the bytes that follow.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Dtype {
    pub has_object: bool,
    pub itemsize: u64,
}

/// `NPY_ITEM_HASOBJECT` in the flags field of a dtype's pickled state.
const HAS_OBJECT_FLAG: i64 = 0x01;

/// The dtype a `numpy.dtype(...)` call value describes.
pub(crate) fn dtype(heap: &Heap, data: &[u8], slot: Slot) -> Result<Dtype, String> {
    let call = heap
        .call(slot)
        .ok_or("the dtype is not a numpy.dtype(...) call")?;
    let callee = heap
        .global(call.callee)
        .ok_or("the dtype is not a numpy.dtype(...) call")?;
    if callee.special() != Some(Special::NumpyDtype) {
        return Err(format!(
            "the dtype is built by `{}`, not numpy.dtype",
            callee.judgement.canonical
        ));
    }
    let code = heap
        .arg(call.args, 0)
        .and_then(|s| heap.text(s, data))
        .ok_or("the dtype's type code is not a string literal")?;
    let (kind, size) =
        parse_type_code(&code).ok_or_else(|| format!("unsupported dtype code {code:?}"))?;
    // The pickled state: (version, byteorder, subarray, names, fields, elsize, alignment,
    // flags[, metadata]).
    let state = call.states.last().and_then(|&s| heap.items(s));
    let state_int = |index: usize| match state.and_then(|items| items.get(index)) {
        Some(Slot::Int(value)) => Some(*value),
        _ => None,
    };
    let flags = state_int(7).unwrap_or(0);
    let itemsize = match (size, state_int(5)) {
        (0, Some(elsize)) if elsize > 0 => elsize.unsigned_abs(),
        (size, _) => size,
    };
    Ok(Dtype {
        has_object: kind == 'O' || flags & HAS_OBJECT_FLAG != 0,
        itemsize,
    })
}

/// `f8`, `<i4`, `U5`, `O8`, or a one-character code such as `d`: the kind and itemsize.
fn parse_type_code(code: &str) -> Option<(char, u64)> {
    let code = code.trim_start_matches(['<', '>', '|', '=', '!']);
    let mut chars = code.chars();
    let kind = chars.next()?;
    let digits = chars.as_str();
    if digits.is_empty() {
        let (kind, size) = match kind {
            '?' => ('b', 1),
            'b' | 'B' => ('i', 1),
            'h' | 'H' => ('i', 2),
            'i' | 'I' | 'f' => (kind.to_ascii_lowercase(), 4),
            'l' | 'L' | 'q' | 'Q' | 'p' | 'P' => ('i', 8),
            'd' => ('f', 8),
            'e' => ('f', 2),
            'g' | 'F' => ('f', 16),
            'D' => ('c', 16),
            'G' => ('c', 32),
            'O' => ('O', 8),
            'S' | 'a' | 'U' | 'V' => (kind, 0),
            _ => return None,
        };
        return Some((kind, size));
    }
    let size: u64 = digits.parse().ok()?;
    let itemsize = match kind {
        'U' => size.checked_mul(4)?,
        'b' | 'i' | 'u' | 'f' | 'c' | 'M' | 'm' | 'S' | 'a' | 'V' | 'O' => size,
        _ => return None,
    };
    Some((kind, itemsize))
}

/// The wrapper's attributes: BUILD state (newest first) over constructor arguments
/// (`NumpyArrayWrapper(subclass, shape, order, dtype, allow_mmap, alignment)`).
pub(crate) fn attribute(heap: &Heap, data: &[u8], wrapper: Slot, name: &str) -> Option<Slot> {
    let call = heap.call(wrapper)?;
    // A wrapper's state has half a dozen keys; a huge one is not joblib's.
    const MAX_STATE_ENTRIES: usize = 64;
    for &state in call.states.iter().rev() {
        // A (dict_state, slot_state) pair sets attributes from both, slots last.
        let dicts = match heap.get(state) {
            Some(Value::Seq {
                kind: SeqKind::Tuple,
                items,
                len: 2,
            }) => [items.get(1).copied(), items.first().copied()],
            _ => [Some(state), None],
        };
        let found = dicts
            .into_iter()
            .flatten()
            .filter(|&d| {
                heap.entries_of(d)
                    .is_some_and(|entries| entries.len() <= MAX_STATE_ENTRIES)
            })
            .find_map(|d| heap.dict_get(d, name, data));
        if found.is_some() {
            return found;
        }
    }
    const POSITIONS: &[&str] = &[
        "subclass",
        "shape",
        "order",
        "dtype",
        "allow_mmap",
        "numpy_array_alignment_bytes",
    ];
    let position = POSITIONS.iter().position(|p| *p == name)?;
    if heap.global(call.callee).is_some() && call.kind == crate::value::CallKind::Reduce {
        return heap.arg(call.args, position);
    }
    None
}

/// Elements of an array of `shape` (a tuple of ints; `()` is one element).
pub(crate) fn element_count(heap: &Heap, shape: Slot) -> Result<u64, String> {
    let Some(Value::Seq { items, len, .. }) = heap.get(shape) else {
        return Err("the array shape is not a tuple".to_owned());
    };
    if u64::try_from(items.len()).ok() != Some(*len) {
        return Err("the array shape has too many dimensions".to_owned());
    }
    items.iter().try_fold(1u64, |count, dim| match dim {
        Slot::Int(n) if *n >= 0 => count
            .checked_mul(n.unsigned_abs())
            .ok_or_else(|| "the array shape overflows".to_owned()),
        _ => Err("the array shape holds a value that is not a non-negative int".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_codes_give_kind_and_itemsize() {
        assert_eq!(parse_type_code("f8"), Some(('f', 8)));
        assert_eq!(parse_type_code("<i4"), Some(('i', 4)));
        assert_eq!(parse_type_code("U5"), Some(('U', 20)));
        assert_eq!(parse_type_code("O8"), Some(('O', 8)));
        assert_eq!(parse_type_code("M8"), Some(('M', 8)));
        assert_eq!(parse_type_code("d"), Some(('f', 8)));
        assert_eq!(parse_type_code("x9"), None);
        assert_eq!(parse_type_code("f99999999999999999999999"), None);
    }
}
