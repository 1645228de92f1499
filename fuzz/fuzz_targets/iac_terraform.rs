#![no_main]
// Terraform: parse, evaluate and check one `main.tf`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    rampart_iac::fuzz_terraform(data, &mut out);
});
