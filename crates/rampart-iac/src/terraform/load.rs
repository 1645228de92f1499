//! Reading one Terraform module directory: parse every `.tf` file (with spans) and
//! collect its variables, locals, resources, data sources, module calls and providers,
//! plus `terraform.tfvars` / `*.auto.tfvars` / other `*.tfvars` values.

use std::path::{Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body};
use rampart_core::{Finding, Location, rules as core_rules};

use crate::rules;
use crate::sources::Files;
use crate::value::Pos;

/// Larger `.tf` files are not parsed (reported as a limit): real ones are kilobytes.
pub(crate) const MAX_FILE_BYTES: usize = 8 << 20;
/// Files read from one module directory on disk.
pub(crate) const MAX_FILES_PER_MODULE: usize = 512;

pub(crate) struct Variable {
    pub name: String,
    pub default: Option<Expression>,
    pub file: u32,
}

pub(crate) struct Local {
    pub name: String,
    pub expr: Expression,
    pub file: u32,
}

pub(crate) struct ResourceDecl {
    /// `resource` (true) or `data` (false).
    pub managed: bool,
    pub rtype: String,
    pub name: String,
    pub block: Block,
    pub file: u32,
}

pub(crate) struct ModuleCall {
    pub name: String,
    pub block: Block,
    pub file: u32,
}

pub(crate) struct Provider {
    pub name: String,
    pub block: Block,
    pub file: u32,
}

pub(crate) struct TfVar {
    pub name: String,
    pub expr: Expression,
    pub file: u32,
    /// `terraform.tfvars` and `*.auto.tfvars` apply automatically; other `.tfvars`
    /// files only with `-var-file`.
    pub automatic: bool,
}

/// One module directory, parsed.
#[derive(Default)]
pub(crate) struct ModuleSource {
    pub dir: PathBuf,
    /// The directory as shown in locations (`infra/modules/bucket`).
    pub display_dir: String,
    pub variables: Vec<Variable>,
    pub locals: Vec<Local>,
    pub resources: Vec<ResourceDecl>,
    pub calls: Vec<ModuleCall>,
    pub providers: Vec<Provider>,
    pub tfvars: Vec<TfVar>,
    /// `required_providers.aws.version` (or a legacy provider `version`), if written.
    pub aws_version_constraint: Option<String>,
}

/// What a file name says about its role in a module.
pub(crate) enum FileRole {
    Config,
    Vars {
        automatic: bool,
    },
    /// Terraform's JSON syntax: reported as not evaluated.
    Json,
    Other,
}

pub(crate) fn file_role(name: &str) -> FileRole {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
    if base.ends_with(".tf.json") || base.ends_with(".tfvars.json") {
        FileRole::Json
    } else if base.ends_with(".tf") {
        FileRole::Config
    } else if base.ends_with(".tfvars") {
        FileRole::Vars {
            automatic: base == "terraform.tfvars" || base.ends_with(".auto.tfvars"),
        }
    } else {
        FileRole::Other
    }
}

impl ModuleSource {
    pub fn new(dir: &Path, display_dir: String) -> Self {
        ModuleSource {
            dir: dir.to_path_buf(),
            display_dir,
            ..ModuleSource::default()
        }
    }

    /// Adds one file; problems become findings (never silence).
    pub fn add_file(
        &mut self,
        location: &Location,
        bytes: &[u8],
        files: &Files,
        out: &mut Vec<Finding>,
    ) {
        let role = file_role(location.name());
        match role {
            FileRole::Other => return,
            FileRole::Json => {
                out.push(Finding::new(
                    &rules::NOT_EVALUATED,
                    location.clone(),
                    "Terraform JSON syntax is not evaluated by rampart: the resources in this \
                     file were not checked",
                ));
                return;
            }
            FileRole::Config | FileRole::Vars { .. } => {}
        }
        if bytes.len() > MAX_FILE_BYTES {
            out.push(Finding::new(
                &core_rules::LIMIT_EXCEEDED,
                location.clone(),
                format!(
                    "Terraform file of {} bytes exceeds the {MAX_FILE_BYTES}-byte limit and was \
                     not parsed",
                    bytes.len()
                ),
            ));
            return;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.strip_prefix('\u{feff}').unwrap_or(text).to_owned(),
            Err(e) => {
                out.push(Finding::new(
                    &core_rules::MALFORMED,
                    location.at(e.valid_up_to() as u64),
                    format!(
                        "Terraform file is not valid UTF-8 (byte offset {}); it was not parsed",
                        e.valid_up_to()
                    ),
                ));
                return;
            }
        };
        let body = match hcl_edit::parser::parse_body(&text) {
            Ok(body) => body,
            Err(e) => {
                let loc = e.location();
                out.push(Finding::new(
                    &core_rules::MALFORMED,
                    location.at_line(
                        u32::try_from(loc.line()).unwrap_or(u32::MAX),
                        Some(u32::try_from(loc.column()).unwrap_or(u32::MAX)),
                    ),
                    format!(
                        "Terraform file does not parse ({}); nothing in it was checked",
                        e.message().lines().next().unwrap_or("syntax error")
                    ),
                ));
                return;
            }
        };
        let file = files.add_text(location.clone(), text);
        match role {
            FileRole::Vars { automatic } => {
                for attr in body.attributes() {
                    self.tfvars.push(TfVar {
                        name: attr.key.as_str().to_owned(),
                        expr: attr.value.clone(),
                        file,
                        automatic,
                    });
                }
            }
            _ => self.add_body(body, file),
        }
    }

    fn add_body(&mut self, body: Body, file: u32) {
        for block in body.into_blocks() {
            let labels: Vec<String> = block.labels.iter().map(|l| l.as_str().to_owned()).collect();
            match (block.ident.as_str(), labels.as_slice()) {
                ("resource" | "data", [rtype, name]) => self.resources.push(ResourceDecl {
                    managed: block.ident.as_str() == "resource",
                    rtype: rtype.clone(),
                    name: name.clone(),
                    block,
                    file,
                }),
                ("variable", [name]) => self.variables.push(Variable {
                    name: name.clone(),
                    default: block.body.get_attribute("default").map(|a| a.value.clone()),
                    file,
                }),
                ("locals", []) => {
                    for attr in block.body.attributes() {
                        self.locals.push(Local {
                            name: attr.key.as_str().to_owned(),
                            expr: attr.value.clone(),
                            file,
                        });
                    }
                }
                ("module", [name]) => self.calls.push(ModuleCall {
                    name: name.clone(),
                    block,
                    file,
                }),
                ("provider", [name]) => {
                    if name == "aws"
                        && let Some(version) = string_attr(&block.body, "version")
                    {
                        self.aws_version_constraint = Some(version);
                    }
                    self.providers.push(Provider {
                        name: name.clone(),
                        block,
                        file,
                    });
                }
                ("terraform", []) => {
                    for required in block
                        .body
                        .blocks()
                        .filter(|b| b.ident.as_str() == "required_providers")
                    {
                        if let Some(aws) = required.body.get_attribute("aws")
                            && let Some(object) = aws.value.as_object()
                        {
                            for (key, value) in object.iter() {
                                let is_version =
                                    key.as_ident().is_some_and(|k| k.as_str() == "version")
                                        || key.as_expr().and_then(Expression::as_str)
                                            == Some("version");
                                if is_version && let Some(v) = value.expr().as_str() {
                                    self.aws_version_constraint = Some(v.to_owned());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Reads a module directory from disk (a local module source).
    pub fn load(
        dir: &Path,
        display_dir: String,
        files: &Files,
        out: &mut Vec<Finding>,
    ) -> std::io::Result<ModuleSource> {
        let mut module = ModuleSource::new(dir, display_dir.clone());
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| matches!(file_role(n), FileRole::Config | FileRole::Json))
            })
            .collect();
        names.sort();
        if names.len() > MAX_FILES_PER_MODULE {
            out.push(Finding::new(
                &core_rules::LIMIT_EXCEEDED,
                Location::file(display_dir.clone()),
                format!(
                    "module directory holds {} Terraform files; only the first \
                     {MAX_FILES_PER_MODULE} were read",
                    names.len()
                ),
            ));
            names.truncate(MAX_FILES_PER_MODULE);
        }
        for path in names {
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let location = Location::file(join_display(&display_dir, file_name));
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if size > MAX_FILE_BYTES as u64 {
                out.push(Finding::new(
                    &core_rules::LIMIT_EXCEEDED,
                    location,
                    format!("Terraform file of {size} bytes exceeds the {MAX_FILE_BYTES}-byte limit and was not parsed"),
                ));
                continue;
            }
            match std::fs::read(&path) {
                Ok(bytes) => module.add_file(&location, &bytes, files, out),
                Err(e) => out.push(Finding::new(
                    &core_rules::UNREADABLE,
                    location,
                    format!("module file could not be read: {e}"),
                )),
            }
        }
        Ok(module)
    }
}

fn string_attr(body: &Body, name: &str) -> Option<String> {
    body.get_attribute(name)
        .and_then(|a| a.value.as_str())
        .map(str::to_owned)
}

/// `infra` + `./modules/x` → `infra/modules/x`, resolving `.` and `..` lexically so that
/// locations read like the paths a user would type.
pub(crate) fn join_display(base: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let absolute = base.starts_with('/');
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

/// The position of a block's identifier.
pub(crate) fn block_pos(block: &Block, file: u32, files: &Files) -> Pos {
    files.pos(file, block.span().map_or(0, |s| s.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_display_paths() {
        assert_eq!(join_display("infra", "./modules/x"), "infra/modules/x");
        assert_eq!(
            join_display("infra/envs/prod", "../../modules/x"),
            "infra/modules/x"
        );
        assert_eq!(join_display(".", "../m"), "../m");
        assert_eq!(join_display("/abs/dir", "m"), "/abs/dir/m");
        assert_eq!(join_display("", "x.tf"), "x.tf");
    }

    #[test]
    fn classifies_files() {
        assert!(matches!(file_role("a/main.tf"), FileRole::Config));
        assert!(matches!(
            file_role("terraform.tfvars"),
            FileRole::Vars { automatic: true }
        ));
        assert!(matches!(
            file_role("x.auto.tfvars"),
            FileRole::Vars { automatic: true }
        ));
        assert!(matches!(
            file_role("prod.tfvars"),
            FileRole::Vars { automatic: false }
        ));
        assert!(matches!(file_role("main.tf.json"), FileRole::Json));
        assert!(matches!(file_role("README.md"), FileRole::Other));
    }
}
