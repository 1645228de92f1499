//! Header-level analyzers for model formats that are not pickles: safetensors, GGUF,
//! NumPy, ONNX, TensorFlow SavedModel, Keras (HDF5 and `.keras` configs) and Jinja chat
//! templates.
//!
//! Each analyzer reads only metadata (headers, graphs, configs) and never tensor data, and
//! never evaluates what it reads: templates are tokenised, not rendered; marshalled Python
//! bytecode is inspected, not run.
