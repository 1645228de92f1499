//! ONNX metadata for the inventory: producer, IR and model version, graph name, opset
//! imports and `metadata_props`, read with the scanner's zero-copy protobuf reader. Tensor
//! payloads are skipped by their length, never read.

use rampart_formats::protobuf::{Field, Reader, WireError};

use crate::text::excerpt;

/// Longest string value copied into a property.
const MAX_VALUE: usize = 200;

/// Why reading stopped, at which offset.
#[derive(Debug, PartialEq)]
pub(crate) struct OnnxError {
    pub offset: u64,
    pub message: String,
}

impl From<WireError> for OnnxError {
    fn from(error: WireError) -> Self {
        OnnxError {
            offset: error.offset(),
            message: error.to_string(),
        }
    }
}

fn text(field: &Field<'_>) -> Option<String> {
    field
        .bytes()
        .map(|b| excerpt(&String::from_utf8_lossy(b), MAX_VALUE))
        .filter(|s| !s.is_empty())
}

/// `rampart:onnx.*` properties of a ModelProto, in field order; `max_entries` bounds the
/// fields visited.
pub(crate) fn read(data: &[u8], max_entries: u64) -> Result<Vec<(String, String)>, OnnxError> {
    let mut properties = Vec::new();
    let mut opsets = Vec::new();
    let mut visited: u64 = 0;
    let mut count = |offset: u64| {
        visited += 1;
        if visited > max_entries {
            return Err(OnnxError {
                offset,
                message: format!("more than max_metadata_entries ({max_entries}) fields"),
            });
        }
        Ok(())
    };
    let mut saw_graph = false;
    for field in Reader::new(data, 0) {
        let field = field?;
        count(field.offset)?;
        let name = match field.number {
            1 => "ir_version",
            2 => "producer_name",
            3 => "producer_version",
            4 => "domain",
            5 => "model_version",
            7 => {
                saw_graph = true;
                let graph = field.message().into_iter().flatten();
                for graph_field in graph {
                    let graph_field = graph_field?;
                    count(graph_field.offset)?;
                    if graph_field.number == 2 {
                        if let Some(name) = text(&graph_field) {
                            properties.push(("rampart:onnx.graph_name".to_owned(), name));
                        }
                        break;
                    }
                }
                continue;
            }
            8 => {
                let (mut domain, mut version) = (String::new(), None);
                for opset_field in field.message().into_iter().flatten() {
                    let opset_field = opset_field?;
                    match opset_field.number {
                        1 => domain = text(&opset_field).unwrap_or_default(),
                        2 => version = opset_field.varint(),
                        _ => {}
                    }
                }
                let domain = if domain.is_empty() {
                    "ai.onnx".to_owned()
                } else {
                    domain
                };
                opsets.push(match version {
                    Some(version) => format!("{domain}:{version}"),
                    None => domain,
                });
                continue;
            }
            14 => {
                let (mut key, mut value) = (None, None);
                for entry_field in field.message().into_iter().flatten() {
                    let entry_field = entry_field?;
                    match entry_field.number {
                        1 => key = text(&entry_field),
                        2 => value = text(&entry_field),
                        _ => {}
                    }
                }
                if let Some(key) = key {
                    properties.push((
                        format!("rampart:onnx.meta.{key}"),
                        value.unwrap_or_default(),
                    ));
                }
                continue;
            }
            _ => continue,
        };
        let value = match field.varint() {
            Some(number) => Some(number.to_string()),
            None => text(&field),
        };
        if let Some(value) = value {
            properties.push((format!("rampart:onnx.{name}"), value));
        }
    }
    if !saw_graph {
        return Err(OnnxError {
            offset: data.len() as u64,
            message: "ONNX model has no graph".to_owned(),
        });
    }
    if !opsets.is_empty() {
        properties.push(("rampart:onnx.opsets".to_owned(), opsets.join(", ")));
    }
    Ok(properties)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn bytes_field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    /// A minimal ModelProto: IR 8, producer, a graph named `main` with one node, opset 17.
    pub(crate) fn onnx_bytes() -> Vec<u8> {
        let mut out = Vec::new();
        varint(1 << 3, &mut out);
        varint(8, &mut out);
        bytes_field(2, b"pytorch", &mut out);
        bytes_field(3, b"2.1.0", &mut out);
        let mut graph = Vec::new();
        bytes_field(1, b"\x22\x04Relu", &mut graph);
        bytes_field(2, b"main", &mut graph);
        bytes_field(7, &graph, &mut out);
        let mut opset = Vec::new();
        varint(2 << 3, &mut opset);
        varint(17, &mut opset);
        bytes_field(8, &opset, &mut out);
        let mut meta = Vec::new();
        bytes_field(1, b"author", &mut meta);
        bytes_field(2, b"me", &mut meta);
        bytes_field(14, &meta, &mut out);
        out
    }

    #[test]
    fn reads_producer_graph_opsets_and_metadata() {
        let properties = read(&onnx_bytes(), 1000).unwrap();
        let get = |k: &str| {
            properties
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("rampart:onnx.ir_version"), Some("8"));
        assert_eq!(get("rampart:onnx.producer_name"), Some("pytorch"));
        assert_eq!(get("rampart:onnx.graph_name"), Some("main"));
        assert_eq!(get("rampart:onnx.opsets"), Some("ai.onnx:17"));
        assert_eq!(get("rampart:onnx.meta.author"), Some("me"));
    }

    #[test]
    fn truncation_is_an_error() {
        let data = onnx_bytes();
        // Inside the producer strings (before the graph), inside the graph, inside metadata.
        for cut in [3, 12, 20, data.len() - 1] {
            assert!(read(&data[..cut], 1000).is_err(), "cut at {cut}");
        }
        assert!(read(&data, 3).is_err());
    }
}
