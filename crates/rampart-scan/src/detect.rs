//! Format detection by content. The extension is only a hint: it decides what to do when
//! the content matches nothing (fail closed when a model was expected) and whether a
//! data-only name hides a code-capable format.

use rampart_archive::compress::{self, Codec};
use rampart_archive::tar;
use rampart_formats::{gguf, keras, numpy, onnx, safetensors, savedmodel};

/// How many leading bytes detection looks at.
pub const SNIFF_LEN: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Empty,
    Zip,
    Tar,
    Compressed(Codec),
    Pickle,
    NumPy,
    Safetensors,
    Gguf,
    /// llama.cpp's pre-GGUF formats (ggml/ggmf/ggjt): tensors only, nothing executable.
    GgmlLegacy,
    Hdf5,
    Onnx,
    SavedModel,
    TfLite,
    Json,
    /// A Git LFS pointer: the text stub checked out in place of a large file when LFS
    /// content was not fetched.
    GitLfsPointer,
    /// A standalone Jinja chat template (`chat_template.jinja`, as transformers >= 4.43
    /// saves it next to the tokenizer).
    ChatTemplate,
    Unknown,
}

/// What the file name leads a user (and a loader) to expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// No model format implied: unknown content is plain data.
    Nothing,
    /// A pickle-based format (`.pkl`, `.pt`, `.joblib`, …): loaders unpickle whatever is
    /// there, so unknown content is parsed as a pickle anyway.
    Pickle,
    /// `.bin`, `.dat`, `.data`, `.sav`: sometimes a pickle (`pytorch_model.bin`), often raw
    /// weights (OpenVINO). Parsed as a pickle tentatively: if nothing could have run
    /// before the stream broke, it is data.
    MaybePickle,
    /// A data-only model format (`.safetensors`, `.gguf`, `.onnx`, `.npy`, `.h5`, …).
    DataOnlyModel,
    /// Another model container (`.npz`, `.keras`, `.pb`, `.tflite`, `.mar`).
    Model,
}

impl Expectation {
    pub fn of(name: &str) -> Expectation {
        let lower = name.to_ascii_lowercase();
        let ext = lower.rsplit_once('.').map_or("", |(_, ext)| ext);
        match ext {
            "pkl" | "pickle" | "pt" | "pth" | "ckpt" | "joblib" | "jbl" | "dill" => {
                Expectation::Pickle
            }
            // `.sav` is a pickle in scikit-learn tutorials, and IDL or SPSS data elsewhere.
            "bin" | "dat" | "data" | "sav" => Expectation::MaybePickle,
            "safetensors" | "gguf" | "ggml" | "onnx" | "npy" | "h5" | "hdf5" => {
                Expectation::DataOnlyModel
            }
            "npz" | "keras" | "tflite" | "mar" => Expectation::Model,
            // `.pb` is any protobuf (ONNX test tensors, sentencepiece); only these names
            // promise a TensorFlow graph.
            "pb" if lower.ends_with("saved_model.pb") || lower.ends_with("keras_metadata.pb") => {
                Expectation::Model
            }
            _ => Expectation::Nothing,
        }
    }

    pub fn expects_model(self) -> bool {
        !matches!(self, Expectation::Nothing | Expectation::MaybePickle)
    }
}

const HDF5_SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";
const GGML_LEGACY_MAGICS: [&[u8; 4]; 3] = [b"lmgg", b"fmgg", b"tjgg"];

/// Printable text (UTF-8, no control bytes but tab and line breaks): not a binary model.
pub fn is_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        // The sniffed prefix may cut a multi-byte character in two.
        Err(e) => e.error_len().is_none(),
    };
    valid
        && !head
            .iter()
            .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
}

/// Decides the format from the leading bytes (`head`, up to [`SNIFF_LEN`]) and the name.
/// Order matters where magics could collide: safetensors' length prefix can look like a
/// pickle PROTO, so it is checked first.
pub fn detect(head: &[u8], name: &str) -> Format {
    if head.is_empty() {
        return Format::Empty;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Format::Zip;
    }
    if numpy::looks_like_npy(head) {
        return Format::NumPy;
    }
    if gguf::looks_like_gguf(head) {
        return Format::Gguf;
    }
    if head.starts_with(HDF5_SIGNATURE) || keras::looks_like_hdf5(head) {
        return Format::Hdf5;
    }
    if safetensors::looks_like_safetensors(head) {
        return Format::Safetensors;
    }
    if rampart_pickle::looks_like_pickle(head) {
        return Format::Pickle;
    }
    if let Some(codec) = compress::sniff(head) {
        // zlib's two header bytes and lzma's properties byte also start ordinary data; only
        // a stream that really inflates counts. The other codecs have real magics (and
        // bzip2/lz4 produce nothing until a whole block is in, so a peek would miss them).
        let weak_magic = matches!(codec, Codec::Zlib | Codec::Lzma);
        if !weak_magic || compress::peek(codec, head, 16).is_some_and(|out| !out.is_empty()) {
            return Format::Compressed(codec);
        }
    }
    if tar::looks_like_tar(head) {
        return Format::Tar;
    }
    if head.get(4..8) == Some(b"TFL3") {
        return Format::TfLite;
    }
    if head.len() >= 4 && GGML_LEGACY_MAGICS.iter().any(|m| head.starts_with(*m)) {
        return Format::GgmlLegacy;
    }
    if head.starts_with(b"version https://git-lfs.github.com/spec/") {
        return Format::GitLfsPointer;
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".jinja") || lower.ends_with(".jinja2") || lower.ends_with(".j2") {
        return Format::ChatTemplate;
    }
    if lower.ends_with(".onnx") || onnx::looks_like_onnx(head) {
        return Format::Onnx;
    }
    if lower.ends_with(".pb")
        || savedmodel::looks_like_saved_model(head) && lower.contains("saved_model")
    {
        return Format::SavedModel;
    }
    if matches!(
        head.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    ) {
        return Format::Json;
    }
    Format::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content_not_extension() {
        assert_eq!(
            detect(
                b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.",
                "model.safetensors"
            ),
            Format::Pickle
        );
        assert_eq!(detect(b"PK\x03\x04rest", "weights.bin"), Format::Zip);
        assert_eq!(
            detect(b"\x93NUMPY\x01\x00v\x00{'descr'", "x"),
            Format::NumPy
        );
        assert_eq!(detect(b"GGUF\x03\x00\x00\x00", "x"), Format::Gguf);
        assert_eq!(detect(b"  {\"a\": 1}", "config"), Format::Json);
        assert_eq!(detect(b"hello world", "README"), Format::Unknown);
        assert_eq!(detect(b"", "a.pt"), Format::Empty);
        assert_eq!(detect(b"lmggrest", "ggml-model.bin"), Format::GgmlLegacy);
        assert_eq!(
            detect(b"{% for m in messages %}", "chat_template.jinja"),
            Format::ChatTemplate
        );
    }

    #[test]
    fn safetensors_length_prefix_is_not_mistaken_for_a_pickle() {
        // Header length 0x0280: the first two bytes read as PROTO 2.
        let mut head = vec![0x80, 0x02, 0, 0, 0, 0, 0, 0];
        head.extend_from_slice(b"{\"__metadata__\":{}}");
        assert_eq!(detect(&head, "x"), Format::Safetensors);
    }

    #[test]
    fn text_is_told_from_binary() {
        assert!(is_text(b"import os; var = 'x'\n"));
        assert!(is_text("caf\u{e9}".as_bytes()));
        assert!(!is_text(b"\x80\x02}q\x00."));
        assert!(!is_text(b"ab\x00cd"));
    }

    #[test]
    fn generic_protobuf_names_promise_nothing() {
        assert_eq!(
            Expectation::of("test_data_set_0/input_0.pb"),
            Expectation::Nothing
        );
        assert_eq!(Expectation::of("export/saved_model.pb"), Expectation::Model);
        assert_eq!(
            detect(
                b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\n",
                "model.pt"
            ),
            Format::GitLfsPointer
        );
    }

    #[test]
    fn expectations_from_names() {
        assert_eq!(Expectation::of("a/b/model.PT"), Expectation::Pickle);
        assert_eq!(
            Expectation::of("openvino_model.bin"),
            Expectation::MaybePickle
        );
        assert_eq!(
            Expectation::of("model.safetensors"),
            Expectation::DataOnlyModel
        );
        assert_eq!(Expectation::of("README.md"), Expectation::Nothing);
        assert!(Expectation::of("x.npz").expects_model());
    }
}
