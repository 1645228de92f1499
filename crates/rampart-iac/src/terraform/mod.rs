//! Terraform module directories: load, instantiate (root and local modules), evaluate,
//! and run the resource checks on every instance.
//!
//! The unit of analysis is a module directory, because Terraform's is: variables,
//! locals and resources in one file are used from the others. Directories that another
//! scanned directory calls as a local module (`source = "./modules/x"`) are analysed as
//! instances of that call (with its arguments, addressed `module.x.<type>.<name>`), not a
//! second time on their own.

mod computed;
pub(crate) mod eval;
mod functions;
pub(crate) mod load;
pub(crate) mod schema;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use hcl_edit::Span;
use rampart_core::{Finding, Location, Rule, rules as core_rules};

use crate::checks;
use crate::rules;
use crate::sources::Files;
use crate::value::{Pos, V, Value};
use eval::{Instance, Scope};
use load::{ModuleSource, ResourceDecl, join_display};

/// How deep local modules may nest.
pub const MAX_MODULE_DEPTH: usize = 8;
/// Module instances one scan may evaluate.
pub const MAX_MODULE_INSTANCES: usize = 256;

/// One directory of Terraform files, as the engine grouped them.
pub struct TerraformDir<'a> {
    /// The directory on disk (local module sources are resolved against it).
    pub dir: &'a Path,
    /// Its `.tf`, `.tfvars` and `.tf.json` files with their locations.
    pub files: &'a [(Location, Vec<u8>)],
}

/// Scans one module directory as a root module. Local modules it calls are read from
/// disk. See [`scan_terraform_dirs`] to scan a tree at once.
pub fn scan_terraform_dir(dir: &Path, files: &[(Location, Vec<u8>)], out: &mut Vec<Finding>) {
    scan_terraform_dirs(&[TerraformDir { dir, files }], out);
}

/// Scans several module directories (typically every directory of a tree that holds
/// Terraform files). A directory that another one calls as a local module is evaluated
/// through that call only.
pub fn scan_terraform_dirs(dirs: &[TerraformDir], out: &mut Vec<Finding>) {
    let files = Files::default();
    let mut sources: HashMap<PathBuf, ModuleSource> = HashMap::new();
    let mut order: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let display = dir
            .files
            .first()
            .map(|(loc, _)| parent_display(&loc.path))
            .unwrap_or_else(|| dir.dir.display().to_string());
        let mut module = ModuleSource::new(dir.dir, display);
        for (location, bytes) in dir.files {
            module.add_file(location, bytes, &files, out);
        }
        let key = canonical(dir.dir);
        order.push(key.clone());
        sources.insert(key, module);
    }
    let called: HashSet<PathBuf> = sources
        .values()
        .flat_map(|m| {
            m.calls
                .iter()
                .filter_map(|c| local_source(&c.block).map(|s| canonical(&m.dir.join(s))))
        })
        .collect();
    let mut scanner = Scanner {
        files: &files,
        sources,
        instances: 0,
    };
    for key in order {
        if !called.contains(&key) {
            scanner.instantiate(&key, String::new(), HashMap::new(), 0, out);
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn parent_display(path: &str) -> String {
    match path.rfind(['/', '\\']) {
        Some(0) => "/".to_owned(),
        Some(i) => path.get(..i).unwrap_or(".").to_owned(),
        None => ".".to_owned(),
    }
}

/// `source = "./x"` or `"../x"`: a module on disk.
fn local_source(block: &hcl_edit::structure::Block) -> Option<String> {
    let source = block.body.get_attribute("source")?.value.as_str()?;
    (source.starts_with("./") || source.starts_with("../")).then(|| source.to_owned())
}

struct Scanner<'f> {
    files: &'f Files,
    sources: HashMap<PathBuf, ModuleSource>,
    instances: usize,
}

impl Scanner<'_> {
    fn instantiate(
        &mut self,
        key: &Path,
        prefix: String,
        arguments: HashMap<String, Value>,
        depth: usize,
        out: &mut Vec<Finding>,
    ) {
        self.instances += 1;
        let Some(module) = self.sources.get(key) else {
            return;
        };
        let instance = Instance::new(module, self.files, prefix.clone(), arguments);
        let ctx = ModuleCtx::new(&instance);
        checks::run(&ctx, out);
        if instance.limit_hit.get() {
            out.push(Finding::new(
                &core_rules::LIMIT_EXCEEDED,
                Location::file(module.display_dir.clone()),
                format!(
                    "evaluating the Terraform module {} hit an evaluation limit (steps, reference \
                     depth, collection or string size); values beyond it were treated as unknown",
                    if prefix.is_empty() {
                        module.display_dir.as_str()
                    } else {
                        prefix.trim_end_matches('.')
                    }
                ),
            ));
        }
        // Child modules: evaluate each call's arguments here, then instantiate.
        let mut children: Vec<Child> = Vec::new();
        for call in &module.calls {
            let call_pos = load::block_pos(&call.block, call.file, self.files);
            let address = format!("{prefix}module.{}", call.name);
            let Some(source) = call.block.body.get_attribute("source") else {
                continue;
            };
            if !body_exists(&instance, &call.block.body, call.file) {
                continue;
            }
            let Some(relative) = local_source(&call.block) else {
                let shown = source.value.as_str().map_or_else(
                    || self.files.slice(call.file, source.value.span()),
                    str::to_owned,
                );
                out.push(Finding::new(
                    &rules::NOT_EVALUATED,
                    self.files.at(call_pos, Some(&address)),
                    format!(
                        "{address} comes from \"{shown}\": registry and Git modules are not \
                         fetched (no network access), so the resources it creates were not checked"
                    ),
                ));
                continue;
            };
            if depth + 1 > MAX_MODULE_DEPTH
                || self.instances + children.len() >= MAX_MODULE_INSTANCES
            {
                out.push(Finding::new(
                    &core_rules::LIMIT_EXCEEDED,
                    self.files.at(call_pos, Some(&address)),
                    format!(
                        "{address} was not evaluated: modules nest deeper than {MAX_MODULE_DEPTH} \
                         levels or more than {MAX_MODULE_INSTANCES} module instances were evaluated"
                    ),
                ));
                continue;
            }
            let mut args = HashMap::new();
            for attr in call.block.body.attributes() {
                let name = attr.key.as_str();
                if matches!(
                    name,
                    "source" | "version" | "count" | "for_each" | "providers" | "depends_on"
                ) {
                    continue;
                }
                args.insert(
                    name.to_owned(),
                    instance.eval(&attr.value, call.file, Scope::default()),
                );
            }
            children.push(Child {
                key: canonical(&module.dir.join(&relative)),
                display: join_display(&module.display_dir, &relative),
                prefix: format!("{address}."),
                arguments: args,
            });
        }
        drop(ctx);
        drop(instance);
        for child in children {
            if !self.sources.contains_key(&child.key) {
                match ModuleSource::load(&child.key, child.display.clone(), self.files, out) {
                    Ok(loaded) => {
                        self.sources.insert(child.key.clone(), loaded);
                    }
                    Err(e) => {
                        out.push(Finding::new(
                            &rules::NOT_EVALUATED,
                            Location::file(child.display.clone()),
                            format!(
                                "local module directory {} could not be read ({e}); the \
                                 resources of {} were not checked",
                                child.display,
                                child.prefix.trim_end_matches('.')
                            ),
                        ));
                        continue;
                    }
                }
            }
            self.instantiate(&child.key, child.prefix, child.arguments, depth + 1, out);
        }
    }
}

/// A local module call, ready to instantiate.
struct Child {
    key: PathBuf,
    display: String,
    prefix: String,
    arguments: HashMap<String, Value>,
}

/// An evaluated resource (or data source) of one module instance.
pub(crate) struct Res<'a> {
    pub decl: &'a ResourceDecl,
    /// `aws_s3_bucket.x`, `module.m.aws_s3_bucket.x`, `data.aws_iam_policy_document.p`.
    pub address: String,
    pub value: Value,
    pub pos: Pos,
}

impl Res<'_> {
    pub fn rtype(&self) -> &str {
        &self.decl.rtype
    }

    pub fn name(&self) -> &str {
        &self.decl.name
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.value.get(key)
    }
}

/// What the checks see of one module instance.
pub(crate) struct ModuleCtx<'a> {
    pub inst: &'a Instance<'a>,
    pub files: &'a Files,
    /// Managed resources that exist (`count = 0` and empty `for_each` left out).
    pub resources: Vec<Res<'a>>,
    pub data: Vec<Res<'a>>,
}

impl<'a> ModuleCtx<'a> {
    fn new(inst: &'a Instance<'a>) -> Self {
        let mut resources = Vec::new();
        let mut data = Vec::new();
        for (index, decl) in inst.module.resources.iter().enumerate() {
            let pos = load::block_pos(&decl.block, decl.file, inst.files);
            if !exists(inst, decl) {
                continue;
            }
            let kind = if decl.managed { "" } else { "data." };
            let res = Res {
                decl,
                address: format!("{}{kind}{}.{}", inst.prefix, decl.rtype, decl.name),
                value: inst.resource_value(index, pos),
                pos,
            };
            if decl.managed {
                resources.push(res);
            } else {
                data.push(res);
            }
        }
        ModuleCtx {
            inst,
            files: inst.files,
            resources,
            data,
        }
    }

    pub fn of_type<'s>(&'s self, rtype: &'s str) -> impl Iterator<Item = &'s Res<'a>> + 's {
        self.resources.iter().filter(move |r| r.decl.rtype == rtype)
    }

    /// The source text of a resource's attribute.
    pub fn attr_text(&self, res: &Res, name: &str) -> String {
        res.decl
            .block
            .body
            .get_attribute(name)
            .map(|a| self.files.slice(res.decl.file, a.value.span()))
            .unwrap_or_default()
    }

    /// Whether `res.attr` refers to `target` by reference (`aws_s3_bucket.x.id`), or holds
    /// the same known name (`bucket = "my-bucket"`).
    pub fn refers_to(&self, res: &Res, attr: &str, target: &Res, target_attr: &str) -> bool {
        let text = self.attr_text(res, attr);
        let reference = format!("{}.{}", target.rtype(), target.name());
        let by_reference = text.match_indices(&reference).any(|(i, _)| {
            let before = text.get(..i).and_then(|b| b.chars().last());
            let after = text
                .get(i + reference.len()..)
                .and_then(|a| a.chars().next());
            !before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                && matches!(after, None | Some('.' | '[' | '}' | ' ' | ')' | ','))
        });
        by_reference
            || match (res.get(attr), target.get(target_attr)) {
                (Some(a), Some(b)) => a.as_str().is_some() && a.same(b),
                _ => false,
            }
    }

    pub fn finding(&self, rule: &'static Rule, pos: Pos, res: &Res, message: String) -> Finding {
        Finding::new(rule, self.files.at(pos, Some(&res.address)), message)
    }

    /// The fail-closed finding for a setting whose value is unknown.
    pub fn not_evaluated(&self, res: &Res, setting: &str, value: &Value, blocked: &str) -> Finding {
        self.finding(
            &rules::VALUE_NOT_EVALUATED,
            value.pos,
            res,
            format!(
                "{setting} of {} is {}, which is only known at apply time, so {blocked} could \
                 not be checked",
                res.address,
                value.display(),
            ),
        )
        .with_evidence(value.display())
    }
}

/// `count = 0` or an empty `for_each` means the resource does not exist.
fn exists(inst: &Instance, decl: &ResourceDecl) -> bool {
    body_exists(inst, &decl.block.body, decl.file)
}

/// The same for any block with `count` / `for_each` (resources, module calls).
fn body_exists(inst: &Instance, body: &hcl_edit::structure::Body, file: u32) -> bool {
    if let Some(count) = body.get_attribute("count") {
        let v = inst.eval(&count.value, file, Scope::default());
        if matches!(v.kind, V::Number(n) if n == 0.0) {
            return false;
        }
    }
    if let Some(for_each) = body.get_attribute("for_each") {
        let v = inst.eval(&for_each.value, file, Scope::default());
        if matches!(&v.kind, V::List(items) if items.is_empty())
            || matches!(&v.kind, V::Object(entries) if entries.is_empty())
        {
            return false;
        }
    }
    true
}

/// A setting read through nested blocks.
pub(crate) enum Setting<'v> {
    Missing,
    Unknown(&'v Value),
    Known(&'v Value),
}

/// `path` walks attributes and (first) nested blocks: `["vpc_config", "endpoint_public_access"]`.
pub(crate) fn setting<'v>(value: &'v Value, path: &[&str]) -> Setting<'v> {
    let mut at = value;
    for (i, key) in path.iter().enumerate() {
        if at.is_unknown() {
            return Setting::Unknown(at);
        }
        let Some(next) = at.get(key) else {
            return Setting::Missing;
        };
        at = if i + 1 < path.len() {
            match next.first_block() {
                Some(block) => block,
                None if next.is_unknown() => return Setting::Unknown(next),
                None => return Setting::Missing,
            }
        } else {
            next
        };
    }
    if at.is_null() {
        Setting::Missing
    } else if at.is_known() {
        Setting::Known(at)
    } else {
        Setting::Unknown(at)
    }
}
