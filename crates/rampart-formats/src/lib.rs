//! Header-level analyzers for model formats that are not pickles: safetensors, GGUF,
//! NumPy, ONNX, TensorFlow SavedModel, Keras (HDF5 and `.keras` configs) and Jinja chat
//! templates.
//!
//! Each analyzer reads only metadata (headers, graphs, configs) and never tensor data, and
//! never evaluates what it reads: templates are tokenised, not rendered; marshalled Python
//! bytecode is inspected, not run.

mod capped;
pub mod chat_template;
pub mod gguf;
pub mod hdf5;
pub mod json_document;
pub mod keras;
pub mod numpy;
pub mod onnx;
pub mod protobuf;
pub mod rules;
pub mod safetensors;
pub mod savedmodel;
pub mod torchscript;

#[cfg(test)]
mod test_support;
