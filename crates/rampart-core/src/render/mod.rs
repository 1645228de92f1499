//! Report renderers shared by every command: a table for terminals, JSON, SARIF 2.1.0.

mod json;
mod sarif;
mod table;

pub use json::render_json;
pub use sarif::render_sarif;
pub use table::{TableOptions, render_table};
