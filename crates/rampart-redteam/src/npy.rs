//! A bounds-checked reader for the NumPy `.npy` arrays the red-team commands take as data:
//! versions 1–3, C order, dtypes `<f4 <f8 <i4 <i8 |u1 |b1`. The header is a Python dict
//! literal parsed by the model scanner's own header parser (`rampart_formats::numpy`), never
//! evaluated; object arrays (pickles) are refused.

use rampart_core::Limits;
use rampart_formats::numpy;
use thiserror::Error;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// An array read from a `.npy` file, widened to `f64` in C (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// Why a `.npy` file could not be read; `at` is the byte offset of the problem.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NpyError {
    #[error("not a NumPy .npy file (no `\\x93NUMPY` magic at offset 0)")]
    NotNpy,
    #[error("unsupported .npy format version {0}.{1} (1.0, 2.0 and 3.0 are supported)")]
    Version(u8, u8),
    #[error("malformed .npy header at offset {at}: {message}")]
    Header { at: usize, message: String },
    #[error(
        "unsupported dtype `{0}`: use float32/float64 (`<f4`, `<f8`), int32/int64 (`<i4`, `<i8`), uint8 (`|u1`) or bool (`|b1`), e.g. `np.save(path, x.astype(np.float32))`"
    )]
    Dtype(String),
    #[error(
        "the array is stored in Fortran (column-major) order: re-save it in C order with `np.save(path, np.ascontiguousarray(x))`"
    )]
    FortranOrder,
    #[error(
        "the array data is {actual} bytes after the header at offset {at}, but shape {shape:?} needs {expected}"
    )]
    Length {
        at: usize,
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    F4,
    F8,
    I4,
    I8,
    U1,
    B1,
}

impl Dtype {
    fn parse(descr: &str) -> Result<Self, NpyError> {
        Ok(match descr {
            "<f4" => Dtype::F4,
            "<f8" => Dtype::F8,
            "<i4" => Dtype::I4,
            "<i8" => Dtype::I8,
            "|u1" | "<u1" => Dtype::U1,
            "|b1" => Dtype::B1,
            other => return Err(NpyError::Dtype(other.to_owned())),
        })
    }

    fn size(self) -> usize {
        match self {
            Dtype::F4 | Dtype::I4 => 4,
            Dtype::F8 | Dtype::I8 => 8,
            Dtype::U1 | Dtype::B1 => 1,
        }
    }

    fn decode(self, item: &[u8]) -> f64 {
        let mut bytes = [0u8; 8];
        let width = item.len().min(8);
        bytes[..width].copy_from_slice(&item[..width]);
        match self {
            Dtype::F4 => f64::from(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
            Dtype::F8 => f64::from_le_bytes(bytes),
            Dtype::I4 => f64::from(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
            // Labels and group ids beyond 2^53 do not occur; the cast rounds like NumPy's.
            Dtype::I8 => i64::from_le_bytes(bytes) as f64,
            Dtype::U1 => f64::from(bytes[0]),
            Dtype::B1 => f64::from(u8::from(bytes[0] != 0)),
        }
    }
}

/// Parses a complete `.npy` file. The number of elements is bounded by the bytes present,
/// so a lying header cannot make it allocate more than the input's size.
pub fn read_npy(data: &[u8]) -> Result<NpyArray, NpyError> {
    if !data.starts_with(MAGIC) {
        return Err(NpyError::NotNpy);
    }
    if let Some(&[major, minor]) = data.get(6..8)
        && !matches!(major, 1..=3)
    {
        return Err(NpyError::Version(major, minor));
    }
    let header =
        numpy::parse_header(data, &header_limits()).map_err(|problem| NpyError::Header {
            at: problem.at,
            message: problem.message,
        })?;
    // The scanner renders `descr` back as the Python literal it read (`'<f4'`).
    let descr = header
        .descr
        .strip_prefix('\'')
        .and_then(|d| d.strip_suffix('\''))
        .unwrap_or(&header.descr);
    let dtype = Dtype::parse(descr)?;
    if header.fortran_order {
        return Err(NpyError::FortranOrder);
    }
    let shape = header
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| NpyError::Header {
            at: 0,
            message: format!("shape {:?} does not fit this machine", header.shape),
        })?;
    let data_start = header.data_offset;
    let payload = data.get(data_start..).unwrap_or_default();
    let expected = shape
        .iter()
        .try_fold(dtype.size(), |n, &d| n.checked_mul(d))
        .filter(|&expected| expected == payload.len());
    let Some(expected) = expected else {
        return Err(NpyError::Length {
            at: data_start,
            expected: shape
                .iter()
                .try_fold(dtype.size(), |n, &d| n.checked_mul(d))
                .unwrap_or(usize::MAX),
            actual: payload.len(),
            shape,
        });
    };
    let values = payload[..expected]
        .chunks_exact(dtype.size())
        .map(|item| dtype.decode(item))
        .collect();
    Ok(NpyArray { shape, values })
}

/// Encodes a float32 array as a version 1.0 `.npy` file, as `np.save` writes it.
pub fn write_npy_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    encode("<f4", shape, values.iter().flat_map(|v| v.to_le_bytes()))
}

/// Encodes an int64 array (labels, group codes) as a version 1.0 `.npy` file.
pub fn write_npy_i64(shape: &[usize], values: &[i64]) -> Vec<u8> {
    encode("<i8", shape, values.iter().flat_map(|v| v.to_le_bytes()))
}

fn encode(descr: &str, shape: &[usize], payload: impl Iterator<Item = u8>) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape_text = match dims.as_slice() {
        [only] => format!("({only},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // NumPy pads the header with spaces so the data starts 64-byte aligned.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend([1, 0]);
    out.extend(
        u16::try_from(header.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    out.extend(header.as_bytes());
    out.extend(payload);
    out
}

/// NumPy itself refuses headers longer than this (`_MAX_HEADER_SIZE`).
fn header_limits() -> Limits {
    Limits {
        max_header_bytes: 10_000,
        ..Limits::default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An `.npy` file as NumPy writes it (header padded so the data is 64-byte aligned).
    pub(crate) fn npy_bytes(major: u8, descr: &str, shape: &[usize], payload: &[u8]) -> Vec<u8> {
        let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
        let shape_text = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
        let prefix = if major == 1 { 10 } else { 12 };
        while (prefix + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend([major, 0]);
        if major == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header.as_bytes());
        out.extend(payload);
        out
    }

    pub(crate) fn f32_npy(shape: &[usize], values: &[f32]) -> Vec<u8> {
        let payload: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        npy_bytes(1, "<f4", shape, &payload)
    }

    #[test]
    fn reads_every_supported_dtype_and_version() {
        let floats = f32_npy(&[2, 2], &[1.0, -2.5, 3.0, 0.25]);
        let array = read_npy(&floats).unwrap();
        assert_eq!(array.shape, vec![2, 2]);
        assert_eq!(array.values, vec![1.0, -2.5, 3.0, 0.25]);

        let f8: Vec<u8> = [1.5f64, -7.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            read_npy(&npy_bytes(2, "<f8", &[2], &f8)).unwrap().values,
            vec![1.5, -7.0]
        );
        let i4: Vec<u8> = [-3i32, 9].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            read_npy(&npy_bytes(3, "<i4", &[2], &i4)).unwrap().values,
            vec![-3.0, 9.0]
        );
        let i8: Vec<u8> = [4i64].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            read_npy(&npy_bytes(1, "<i8", &[1], &i8)).unwrap().values,
            vec![4.0]
        );
        assert_eq!(
            read_npy(&npy_bytes(1, "|u1", &[3], &[0, 7, 255]))
                .unwrap()
                .values,
            vec![0.0, 7.0, 255.0]
        );
        assert_eq!(
            read_npy(&npy_bytes(1, "|b1", &[2], &[1, 0]))
                .unwrap()
                .values,
            vec![1.0, 0.0]
        );
    }

    #[test]
    fn rejects_fortran_order_unsupported_dtypes_and_wrong_lengths() {
        let mut fortran = f32_npy(&[1, 1], &[1.0]);
        let at = fortran.windows(5).position(|w| w == b"False").unwrap();
        fortran.splice(at..at + 5, *b"True ");
        assert_eq!(read_npy(&fortran), Err(NpyError::FortranOrder));
        assert_eq!(
            read_npy(&npy_bytes(1, "|O", &[1], &[0])),
            Err(NpyError::Dtype("|O".into()))
        );
        assert!(matches!(
            read_npy(&npy_bytes(1, "<f4", &[3], &[0; 8])),
            Err(NpyError::Length {
                expected: 12,
                actual: 8,
                ..
            })
        ));
        assert!(matches!(
            read_npy(&npy_bytes(1, "<f4", &[usize::MAX, 4], &[])),
            Err(NpyError::Length { .. })
        ));
        assert_eq!(read_npy(b"PK\x03\x04"), Err(NpyError::NotNpy));
        assert_eq!(read_npy(b"\x93NUMPY\x04\x00"), Err(NpyError::Version(4, 0)));
    }

    #[test]
    fn fuzz_corpus_replays_without_panic() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/redteam_npy");
        let mut replayed = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let _ = read_npy(&bytes);
            replayed += 1;
        }
        assert!(replayed > 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = read_npy(&bytes);
        }

        #[test]
        fn mutated_valid_files_never_panic(
            position in 0usize..96,
            byte in any::<u8>(),
            cut in 0usize..96,
        ) {
            let mut file = f32_npy(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            if let Some(slot) = file.get_mut(position) {
                *slot = byte;
            }
            let _ = read_npy(&file);
            file.truncate(cut);
            let _ = read_npy(&file);
        }
    }
}
