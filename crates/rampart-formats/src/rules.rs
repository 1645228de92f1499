//! Every rule this crate reports, for `rampart rules`. Each rule is defined in the module
//! that reports it; this list is the crate's single export of them.

use rampart_core::{Reference, Rule};

/// References of the rules about bytes a format carries that no loader reads.
pub(crate) const HIDDEN_BYTES_REFERENCES: &[Reference] = &[
    Reference::Cwe(506),
    Reference::Atlas("AML.T0018.002"),
    Reference::Atlas("AML.T0010.003"),
    Reference::Owasp("ML06:2023"),
];

pub static RULES: &[&Rule] = &[
    &crate::torchscript::TORCHSCRIPT_FILE_ACCESS,
    &crate::torchscript::TORCHSCRIPT_CUSTOM_OPERATOR,
    &crate::onnx::ONNX_EXTERNAL_DATA_TRAVERSAL,
    &crate::onnx::ONNX_CUSTOM_OPERATOR_DOMAIN,
    &crate::savedmodel::SAVEDMODEL_PYTHON_OP,
    &crate::savedmodel::SAVEDMODEL_FILE_OR_NETWORK_OP,
    &crate::savedmodel::SAVEDMODEL_DATASET_READER_OP,
    &crate::keras::KERAS_LAMBDA_LAYER,
    &crate::keras::KERAS_UNSAFE_MODULE_REFERENCE,
    &crate::keras::KERAS_CUSTOM_OBJECT,
    &crate::keras::KERAS_EXTERNAL_RESOURCE,
    &crate::chat_template::TEMPLATE_PYTHON_INTERNALS,
    &crate::chat_template::TEMPLATE_GADGET_GLOBAL,
    &crate::chat_template::TEMPLATE_OS_ACCESS,
    &crate::chat_template::TEMPLATE_COMPUTED_ATTRIBUTE,
    &crate::safetensors::SAFETENSORS_HEADER_INVALID,
    &crate::safetensors::SAFETENSORS_DUPLICATE_KEY,
    &crate::safetensors::SAFETENSORS_TENSOR_LAYOUT,
    &crate::safetensors::SAFETENSORS_UNACCOUNTED_BYTES,
    &crate::gguf::GGUF_OVERSIZED_COUNT,
    &crate::gguf::GGUF_INVALID_TYPE,
    &crate::gguf::GGUF_DUPLICATE_KEY,
    &crate::gguf::GGUF_TENSOR_LAYOUT,
    &crate::gguf::GGUF_INVALID_UTF8,
    &crate::gguf::GGUF_UNACCOUNTED_BYTES,
    &crate::numpy::NUMPY_TRAILING_DATA,
];

#[cfg(test)]
mod tests {
    use super::RULES;

    #[test]
    fn rules_are_unique_and_fully_described() {
        assert_eq!(
            rampart_core::rule_table_problems(RULES, "model"),
            Vec::<String>::new()
        );
    }
}
