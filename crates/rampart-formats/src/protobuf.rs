//! A zero-copy reader of the protobuf wire format, for ONNX and TensorFlow files.
//!
//! Generated decoders (prost and friends) copy every `bytes` field into an owned buffer,
//! which for an ONNX `raw_data` field means copying gigabytes of weights just to look at
//! the graph. This reader instead yields borrowed slices: skipping a tensor costs one
//! length check. It knows nothing of schemas; the format modules decide which fields to
//! descend into and bound the nesting depth and entry counts with [`Budget`].
//!
//! Errors are values: a truncated varint or a length running past its message ends the
//! iteration with a [`WireError`] naming the absolute offset, never a panic.

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location};

/// Messages may nest this deep (protobuf's own default recursion limit). ONNX subgraphs
/// cost three levels each (graph → node → attribute → graph), so this still allows
/// about thirty nested control-flow bodies, far beyond what exporters produce.
pub const MAX_NESTING: usize = 100;

/// One field value as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    /// Strings, bytes, embedded messages and packed repeated fields.
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// A field of a message: its number, its value and where it sits in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub number: u32,
    pub value: WireValue<'a>,
    /// Absolute offset of the field's tag.
    pub offset: u64,
    /// Absolute offset of the value's first byte (after the length, for `Bytes`).
    pub value_offset: u64,
}

impl<'a> Field<'a> {
    /// The payload of a length-delimited field; `None` for other wire types, which a
    /// protobuf runtime would keep as an unknown field rather than decode.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self.value {
            WireValue::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    pub fn varint(&self) -> Option<u64> {
        match self.value {
            WireValue::Varint(v) => Some(v),
            _ => None,
        }
    }

    /// A reader over the field as an embedded message.
    pub fn message(&self) -> Option<Reader<'a>> {
        self.bytes()
            .map(|bytes| Reader::new(bytes, self.value_offset))
    }
}

/// Why a message could not be decoded. Every variant carries the absolute offset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated varint at offset {offset}")]
    TruncatedVarint { offset: u64 },
    #[error("varint longer than 10 bytes at offset {offset}")]
    OverlongVarint { offset: u64 },
    #[error("invalid field number {number} at offset {offset}")]
    InvalidFieldNumber { number: u64, offset: u64 },
    #[error(
        "wire type {wire_type} at offset {offset} is not supported (groups and reserved \
         wire types never occur in these formats)"
    )]
    UnsupportedWireType { wire_type: u8, offset: u64 },
    #[error(
        "length {length} at offset {offset} runs past the end of its message \
         ({remaining} bytes left)"
    )]
    LengthOutOfBounds {
        length: u64,
        remaining: u64,
        offset: u64,
    },
    #[error("truncated fixed-width value at offset {offset}")]
    TruncatedFixed { offset: u64 },
}

impl WireError {
    pub fn offset(&self) -> u64 {
        match *self {
            WireError::TruncatedVarint { offset }
            | WireError::OverlongVarint { offset }
            | WireError::InvalidFieldNumber { offset, .. }
            | WireError::UnsupportedWireType { offset, .. }
            | WireError::LengthOutOfBounds { offset, .. }
            | WireError::TruncatedFixed { offset } => offset,
        }
    }
}

/// Iterates over the fields of one message. After an error it yields nothing more.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    failed: bool,
}

impl<'a> Reader<'a> {
    /// `base` is the absolute offset of `data[0]` in the input, for error messages and
    /// finding locations.
    pub fn new(data: &'a [u8], base: u64) -> Self {
        Reader {
            data,
            pos: 0,
            base,
            failed: false,
        }
    }

    fn absolute(&self, pos: usize) -> u64 {
        self.base.saturating_add(pos as u64)
    }

    fn read_varint(&mut self) -> Result<u64, WireError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&byte) = self.data.get(self.pos) else {
                return Err(WireError::TruncatedVarint {
                    offset: self.absolute(start),
                });
            };
            self.pos += 1;
            // Bits beyond 64 in the tenth byte are dropped, as protobuf runtimes do.
            value |= u64::from(byte & 0x7f).checked_shl(7 * i).unwrap_or(0);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::OverlongVarint {
            offset: self.absolute(start),
        })
    }

    fn read_fixed<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let offset = self.absolute(self.pos);
        let bytes = self
            .pos
            .checked_add(N)
            .and_then(|end| self.data.get(self.pos..end))
            .ok_or(WireError::TruncatedFixed { offset })?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        self.pos += N;
        Ok(out)
    }

    fn read_field(&mut self) -> Result<Field<'a>, WireError> {
        let tag_pos = self.pos;
        let offset = self.absolute(tag_pos);
        let tag = self.read_varint()?;
        let value_pos = self.pos;
        let number = tag >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(WireError::InvalidFieldNumber { number, offset });
        }
        // The mask keeps the value below 8, so the cast cannot truncate.
        let wire_type = (tag & 0x7) as u8;
        let value = match wire_type {
            0 => WireValue::Varint(self.read_varint()?),
            1 => WireValue::Fixed64(u64::from_le_bytes(self.read_fixed::<8>()?)),
            2 => {
                let length_offset = self.absolute(self.pos);
                let length = self.read_varint()?;
                let remaining = self.data.len() - self.pos;
                let bytes = usize::try_from(length)
                    .ok()
                    .filter(|&len| len <= remaining)
                    .and_then(|len| self.data.get(self.pos..self.pos + len))
                    .ok_or(WireError::LengthOutOfBounds {
                        length,
                        remaining: remaining as u64,
                        offset: length_offset,
                    })?;
                let value_offset = self.absolute(self.pos);
                self.pos += bytes.len();
                return Ok(Field {
                    number: number as u32,
                    value: WireValue::Bytes(bytes),
                    offset,
                    value_offset,
                });
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(self.read_fixed::<4>()?)),
            _ => return Err(WireError::UnsupportedWireType { wire_type, offset }),
        };
        Ok(Field {
            // Checked above to be below 2^29.
            number: number as u32,
            value,
            offset,
            value_offset: self.absolute(value_pos),
        })
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Field<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let field = self.read_field();
        self.failed = field.is_err();
        Some(field)
    }
}

/// Why a walk over nested messages stopped before the end.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("messages nest deeper than {MAX_NESTING} levels at offset {offset}")]
    TooDeep { offset: u64 },
    #[error("more than {limit} {what} (limits.max_metadata_entries), at offset {offset}")]
    TooManyEntries {
        what: &'static str,
        limit: u64,
        offset: u64,
    },
}

impl WalkError {
    pub fn offset(&self) -> u64 {
        match self {
            WalkError::Wire(e) => e.offset(),
            WalkError::TooDeep { offset } | WalkError::TooManyEntries { offset, .. } => *offset,
        }
    }

    /// Reports how a walk of a whole `format` file ended: `Ok(false)` means it parsed but
    /// held nothing usable (`empty` says what was missing), an error is fail-closed.
    pub fn report_outcome(
        result: Result<bool, WalkError>,
        format: &str,
        empty: &str,
        location: &Location,
        out: &mut Vec<Finding>,
    ) {
        match result {
            Ok(true) => {}
            Ok(false) => out.push(Finding::new(&MALFORMED, location.clone(), empty)),
            Err(e) => out.push(e.to_finding(format, location)),
        }
    }

    /// The fail-closed finding for a walk that stopped here: malformed input, or a limit.
    pub fn to_finding(&self, format: &str, location: &Location) -> Finding {
        let rule = match self {
            WalkError::Wire(_) => &MALFORMED,
            WalkError::TooDeep { .. } | WalkError::TooManyEntries { .. } => &LIMIT_EXCEEDED,
        };
        Finding::new(
            rule,
            location.at(self.offset()),
            format!("{format} could not be fully scanned: {self}"),
        )
    }
}

/// Bounds one walk: how many structural entries (nodes, tensors, functions, …) it may
/// visit, and how deep messages may nest.
#[derive(Debug)]
pub struct Budget {
    entries: u64,
    max_entries: u64,
    what: &'static str,
}

impl Budget {
    /// `what` names the counted entries in the limit message, e.g. "graph entries".
    pub fn new(limits: &Limits, what: &'static str) -> Self {
        Budget {
            entries: 0,
            max_entries: limits.max_metadata_entries,
            what,
        }
    }

    /// Counts one entry found at `offset`.
    pub fn take(&mut self, offset: u64) -> Result<(), WalkError> {
        self.entries += 1;
        if self.entries > self.max_entries {
            return Err(WalkError::TooManyEntries {
                what: self.what,
                limit: self.max_entries,
                offset,
            });
        }
        Ok(())
    }

    /// Checks that a message at nesting `depth` may be entered.
    pub fn enter(depth: usize, offset: u64) -> Result<(), WalkError> {
        if depth > MAX_NESTING {
            return Err(WalkError::TooDeep { offset });
        }
        Ok(())
    }
}

/// Quotes untrusted text for a finding message: control characters escaped, at most `max`
/// characters. Shared by the ONNX, TensorFlow and Keras analyzers.
pub fn quote(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod encode {
    //! A tiny protobuf encoder for building test inputs by hand.

    pub fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// A message under construction.
    #[derive(Default, Clone)]
    pub struct Msg(pub Vec<u8>);

    impl Msg {
        pub fn new() -> Self {
            Msg::default()
        }

        pub fn varint(mut self, number: u32, v: u64) -> Self {
            varint(u64::from(number) << 3, &mut self.0);
            varint(v, &mut self.0);
            self
        }

        pub fn bytes(mut self, number: u32, payload: &[u8]) -> Self {
            varint((u64::from(number) << 3) | 2, &mut self.0);
            varint(payload.len() as u64, &mut self.0);
            self.0.extend_from_slice(payload);
            self
        }

        pub fn string(self, number: u32, s: &str) -> Self {
            self.bytes(number, s.as_bytes())
        }

        pub fn msg(self, number: u32, m: &Msg) -> Self {
            self.bytes(number, &m.0)
        }

        pub fn fixed32(mut self, number: u32, v: u32) -> Self {
            varint((u64::from(number) << 3) | 5, &mut self.0);
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }

        pub fn fixed64(mut self, number: u32, v: u64) -> Self {
            varint((u64::from(number) << 3) | 1, &mut self.0);
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::encode::Msg;
    use super::*;
    use proptest::prelude::*;

    fn fields(data: &[u8]) -> Vec<Result<Field<'_>, WireError>> {
        Reader::new(data, 100).collect()
    }

    #[test]
    fn reads_every_wire_type_with_absolute_offsets() {
        let m = Msg::new()
            .varint(1, 300)
            .string(2, "hi")
            .fixed32(3, 7)
            .fixed64(4, 9);
        let got: Vec<_> = fields(&m.0).into_iter().map(|f| f.unwrap()).collect();
        assert_eq!(got.len(), 4);
        assert_eq!((got[0].number, got[0].varint()), (1, Some(300)));
        assert_eq!(got[0].offset, 100);
        assert_eq!(got[1].bytes(), Some(&b"hi"[..]));
        assert_eq!(got[1].offset, 103);
        assert_eq!(got[1].value_offset, 105);
        assert_eq!(got[2].value, WireValue::Fixed32(7));
        assert_eq!(got[3].value, WireValue::Fixed64(9));
    }

    #[test]
    fn nested_messages_keep_absolute_offsets() {
        let inner = Msg::new().string(1, "x");
        let outer = Msg::new().varint(1, 1).msg(2, &inner);
        let field = Reader::new(&outer.0, 0).nth(1).unwrap().unwrap();
        let nested = field.message().unwrap().next().unwrap().unwrap();
        assert_eq!(nested.offset, 4);
        assert_eq!(nested.bytes(), Some(&b"x"[..]));
    }

    #[test]
    fn length_past_the_end_is_an_error_not_a_panic() {
        let data = [0x12, 0x05, b'a'];
        let got = fields(&data);
        assert_eq!(
            got,
            vec![Err(WireError::LengthOutOfBounds {
                length: 5,
                remaining: 1,
                offset: 101
            })]
        );
    }

    #[test]
    fn huge_length_is_an_error() {
        let mut data = vec![0x12];
        encode::varint(u64::MAX, &mut data);
        assert!(matches!(
            fields(&data)[0],
            Err(WireError::LengthOutOfBounds { .. })
        ));
    }

    #[test]
    fn varint_errors() {
        assert_eq!(
            fields(&[0x08, 0x80]),
            vec![Err(WireError::TruncatedVarint { offset: 101 })]
        );
        let mut overlong = vec![0x08];
        overlong.extend([0xff; 11]);
        assert_eq!(
            fields(&overlong),
            vec![Err(WireError::OverlongVarint { offset: 101 })]
        );
        // A ten-byte varint is the longest legal encoding.
        let mut max = vec![0x08];
        encode::varint(u64::MAX, &mut max);
        assert_eq!(max.len(), 11);
        assert_eq!(fields(&max)[0].clone().unwrap().varint(), Some(u64::MAX));
    }

    #[test]
    fn groups_reserved_types_and_field_zero_are_rejected() {
        assert!(matches!(
            fields(&[0x0b])[0],
            Err(WireError::UnsupportedWireType { wire_type: 3, .. })
        ));
        assert!(matches!(
            fields(&[0x0c])[0],
            Err(WireError::UnsupportedWireType { wire_type: 4, .. })
        ));
        assert!(matches!(
            fields(&[0x0e])[0],
            Err(WireError::UnsupportedWireType { wire_type: 6, .. })
        ));
        assert!(matches!(
            fields(&[0x00, 0x00])[0],
            Err(WireError::InvalidFieldNumber { number: 0, .. })
        ));
        assert!(matches!(
            fields(&[0x0d, 1, 2])[0],
            Err(WireError::TruncatedFixed { .. })
        ));
    }

    #[test]
    fn stops_after_the_first_error() {
        let data = [0x12, 0x09, 0x08, 0x01];
        assert_eq!(fields(&data).len(), 1);
    }

    #[test]
    fn budget_limits_entries_and_depth() {
        let limits = Limits {
            max_metadata_entries: 2,
            ..Limits::default()
        };
        let mut budget = Budget::new(&limits, "nodes");
        assert!(budget.take(0).is_ok());
        assert!(budget.take(1).is_ok());
        let err = budget.take(7).unwrap_err();
        assert_eq!(err.offset(), 7);
        let finding = err.to_finding("ONNX model", &Location::file("m.onnx"));
        assert_eq!(finding.rule.id, "scan/limit-exceeded");
        assert!(Budget::enter(MAX_NESTING, 0).is_ok());
        assert!(Budget::enter(MAX_NESTING + 1, 0).is_err());
    }

    #[test]
    fn quote_escapes_and_truncates() {
        assert_eq!(quote("a\0b", 10), "a\\u{0}b");
        assert_eq!(quote("abcdef", 3), "abc…");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_never_panic_and_fields_stay_in_bounds(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            for field in Reader::new(&data, 0) {
                match field {
                    Ok(f) => {
                        prop_assert!((f.offset as usize) < data.len());
                        if let Some(b) = f.bytes() {
                            prop_assert!(f.value_offset as usize + b.len() <= data.len());
                        }
                    }
                    Err(e) => prop_assert!((e.offset() as usize) <= data.len()),
                }
            }
        }
    }
}
