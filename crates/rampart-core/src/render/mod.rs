//! Report renderers shared by every command: a table for terminals, JSON, SARIF 2.1.0, GitLab
//! security reports and a self-contained HTML page.

mod gitlab;
mod html;
mod json;
mod sarif;
mod table;

pub use gitlab::{
    DependencyFile, GITLAB_SAST_SCHEMA_VERSION, ScanWindow, render_gitlab_dependency_scanning,
    render_gitlab_sast,
};
pub use html::{Escaped, html_page, render_html};
pub use json::render_json;
pub use sarif::render_sarif;
pub use table::{TableOptions, render_table};
