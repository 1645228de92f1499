//! Models and datasets: which files are weights or data (by content, as the scanner detects
//! them, with the extension only where a format has no magic), and what their headers and
//! cards say.

pub(crate) mod card;
pub(crate) mod gguf;
pub(crate) mod onnx;

use rampart_scan::detect::{Expectation, Format, detect, is_text};

/// What a file is to the inventory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileRole {
    /// Model weights (or a serialized model) in this format.
    Weights(&'static str),
    /// A data file in this format; `verified` is false when the name promises a format with a
    /// magic number the content lacks.
    Data {
        format: &'static str,
        verified: bool,
    },
    Other,
}

/// Data formats by extension: (extension, format, magic numbers any of which verifies it).
const DATA_FORMATS: &[(&str, &str, &[&[u8]])] = &[
    ("csv", "csv", &[]),
    ("tsv", "tsv", &[]),
    ("psv", "psv", &[]),
    ("jsonl", "jsonl", &[]),
    ("ndjson", "jsonl", &[]),
    ("parquet", "parquet", &[b"PAR1"]),
    ("arrow", "arrow", &[b"ARROW1", b"\xff\xff\xff\xff"]),
    ("feather", "feather", &[b"ARROW1", b"FEA1"]),
    ("ipc", "arrow", &[b"ARROW1", b"\xff\xff\xff\xff"]),
    ("npy", "npy", &[b"\x93NUMPY"]),
    ("npz", "npz", &[b"PK\x03\x04", b"PK\x05\x06"]),
    ("avro", "avro", &[b"Obj\x01"]),
    ("orc", "orc", &[b"ORC"]),
    ("tfrecord", "tfrecord", &[]),
    ("tfrecords", "tfrecord", &[]),
];

/// Compressed text data keeps its data format: `train.csv.gz`.
const COMPRESSION_SUFFIXES: &[&str] = &["gz", "bz2", "xz", "zst"];

/// Classifies a file from its first bytes (up to `rampart_scan::detect::SNIFF_LEN`) and name.
pub(crate) fn classify(head: &[u8], name: &str) -> FileRole {
    let lower = name.to_ascii_lowercase();
    let format = detect(head, name);
    let expectation = Expectation::of(name);
    // Content that can run code when loaded is a model whatever the name says.
    if matches!(format, Format::Pickle) {
        return FileRole::Weights("pickle");
    }
    if let Some(role) = data_role(&lower, head) {
        return role;
    }
    let weights = match format {
        Format::Safetensors => "safetensors",
        Format::Gguf => "gguf",
        Format::GgmlLegacy => "ggml",
        Format::TfLite => "tflite",
        Format::Onnx if lower.ends_with(".onnx") || !is_text(head) => "onnx",
        Format::Hdf5 if expectation.expects_model() => "hdf5",
        Format::SavedModel if expectation == Expectation::Model => "tensorflow-savedmodel",
        Format::Zip if expectation != Expectation::Nothing => {
            if lower.ends_with(".keras") {
                "keras"
            } else {
                "pytorch-zip"
            }
        }
        Format::Compressed(_) if expectation_without_compression(&lower).is_some() => {
            "compressed-pickle"
        }
        Format::GitLfsPointer if expectation != Expectation::Nothing => "git-lfs-pointer",
        Format::Unknown | Format::Empty if expectation.expects_model() => "unknown",
        _ => return FileRole::Other,
    };
    FileRole::Weights(weights)
}

/// `model.pkl.gz` → the pickle expectation of `model.pkl`.
fn expectation_without_compression(lower: &str) -> Option<Expectation> {
    let (stem, suffix) = lower.rsplit_once('.')?;
    let expectation = Expectation::of(stem);
    (COMPRESSION_SUFFIXES.contains(&suffix)
        && matches!(expectation, Expectation::Pickle | Expectation::MaybePickle))
    .then_some(expectation)
}

fn data_role(lower: &str, head: &[u8]) -> Option<FileRole> {
    let (stem, mut extension) = lower.rsplit_once('.')?;
    if COMPRESSION_SUFFIXES.contains(&extension) {
        let inner = stem.rsplit_once('.')?.1;
        // Only text formats are worth compressing this way; the content is the codec's.
        let (_, format, _) = DATA_FORMATS
            .iter()
            .find(|(ext, _, magics)| *ext == inner && magics.is_empty())?;
        return Some(FileRole::Data {
            format,
            verified: true,
        });
    }
    if extension == "jsonlines" {
        extension = "jsonl";
    }
    let (_, format, magics) = DATA_FORMATS.iter().find(|(ext, _, _)| *ext == extension)?;
    let verified =
        magics.is_empty() || head.is_empty() || magics.iter().any(|m| head.starts_with(m));
    Some(FileRole::Data { format, verified })
}

/// The task a `transformers` architecture class name implies (`LlamaForCausalLM` →
/// `text-generation`), as the Hub infers `pipeline_tag`.
pub(crate) fn task_of_architecture(architecture: &str) -> Option<&'static str> {
    const SUFFIXES: &[(&str, &str)] = &[
        ("ForCausalLM", "text-generation"),
        ("LMHeadModel", "text-generation"),
        ("ForMaskedLM", "fill-mask"),
        ("ForSequenceClassification", "text-classification"),
        ("ForTokenClassification", "token-classification"),
        ("ForQuestionAnswering", "question-answering"),
        ("ForMultipleChoice", "multiple-choice"),
        ("ForSeq2SeqLM", "text2text-generation"),
        ("ForConditionalGeneration", "text2text-generation"),
        ("ForImageClassification", "image-classification"),
        ("ForObjectDetection", "object-detection"),
        ("ForSemanticSegmentation", "image-segmentation"),
        ("ForCTC", "automatic-speech-recognition"),
        ("ForSpeechSeq2Seq", "automatic-speech-recognition"),
        ("ForAudioClassification", "audio-classification"),
        (
            "ForZeroShotImageClassification",
            "zero-shot-image-classification",
        ),
        ("ForVision2Seq", "image-to-text"),
        ("ForDepthEstimation", "depth-estimation"),
        ("ForTextToSpeech", "text-to-speech"),
    ];
    SUFFIXES
        .iter()
        .find(|(suffix, _)| architecture.ends_with(suffix))
        .map(|(_, task)| *task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_by_content_data_by_extension_and_magic() {
        let mut safetensors = vec![0x10, 0, 0, 0, 0, 0, 0, 0];
        safetensors.extend_from_slice(b"{\"a\":{\"dtype\":\"F32\"");
        assert_eq!(
            classify(&safetensors, "model.safetensors"),
            FileRole::Weights("safetensors")
        );
        assert_eq!(
            classify(b"GGUF\x03\0\0\0", "x.gguf"),
            FileRole::Weights("gguf")
        );
        assert_eq!(
            classify(b"\x80\x04\x95\x05\0\0\0\0\0\0\0K\x01.", "data.csv"),
            FileRole::Weights("pickle")
        );
        assert_eq!(
            classify(b"PK\x03\x04", "pytorch_model.bin"),
            FileRole::Weights("pytorch-zip")
        );
        assert_eq!(classify(b"PK\x03\x04", "bundle.zip"), FileRole::Other);
        assert_eq!(
            classify(b"a,b\n1,2\n", "train.csv"),
            FileRole::Data {
                format: "csv",
                verified: true
            }
        );
        assert_eq!(
            classify(b"PAR1\x15\x04", "x.parquet"),
            FileRole::Data {
                format: "parquet",
                verified: true
            }
        );
        assert_eq!(
            classify(b"not parquet", "x.parquet"),
            FileRole::Data {
                format: "parquet",
                verified: false
            }
        );
        assert_eq!(
            classify(b"\x1f\x8b\x08\0", "train.jsonl.gz"),
            FileRole::Data {
                format: "jsonl",
                verified: true
            }
        );
        assert_eq!(
            classify(b"\x93NUMPY\x01\0v\0{'descr'", "x.npy"),
            FileRole::Data {
                format: "npy",
                verified: true
            }
        );
        assert_eq!(classify(b"print('hi')\n", "train.py"), FileRole::Other);
        assert_eq!(classify(b"{\"a\": 1}", "config.json"), FileRole::Other);
        assert_eq!(
            classify(b"garbage", "model.pt"),
            FileRole::Weights("unknown")
        );
        assert_eq!(classify(b"", "notes.txt"), FileRole::Other);
    }

    #[test]
    fn tasks_from_architectures() {
        assert_eq!(
            task_of_architecture("LlamaForCausalLM"),
            Some("text-generation")
        );
        assert_eq!(task_of_architecture("BertModel"), None);
    }
}
