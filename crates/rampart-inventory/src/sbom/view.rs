//! The inventory as SBOM components, shared by every writer: package occurrences merged
//! into one component per (ecosystem, name, version), stable references, the dependency
//! graph between components, and model → dataset links.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::inventory::{
    Dataset, Ecosystem, Inventory, Model, Package, PackageSource, Scope, SourceFormat,
};
use crate::names::{purl, pypi_purl};

/// One package component: every occurrence of the same package and version.
pub(crate) struct PackageComponent<'a> {
    pub reference: String,
    /// The occurrence that speaks for the component: an installed one, else a locked one,
    /// else the first with a version, else the first declaration.
    pub main: &'a Package,
    pub occurrences: Vec<&'a Package>,
    pub purl: String,
    /// References of the components it depends on, sorted.
    pub depends_on: Vec<String>,
}

impl<'a> PackageComponent<'a> {
    pub(crate) fn version(&self) -> Option<&'a str> {
        self.main.version.as_deref()
    }

    /// Required if any occurrence is, else the narrowest declared scope.
    pub(crate) fn scope(&self) -> Scope {
        let scopes: Vec<Scope> = self.occurrences.iter().map(|p| p.scope).collect();
        [
            Scope::Required,
            Scope::Optional,
            Scope::Development,
            Scope::Constraint,
        ]
        .into_iter()
        .find(|s| scopes.contains(s))
        .unwrap_or_default()
    }
}

/// A dataset a model card names: the dataset component when the inventory holds it.
pub(crate) struct DatasetLink {
    pub name: String,
    pub reference: Option<String>,
}

pub(crate) struct View<'a> {
    pub root_reference: String,
    pub packages: Vec<PackageComponent<'a>>,
    pub models: Vec<(String, &'a Model, Vec<DatasetLink>)>,
    pub datasets: Vec<(String, &'a Dataset)>,
    /// What the project itself depends on: direct packages, then models and datasets.
    pub root_depends_on: Vec<String>,
}

type Key = (Ecosystem, String, Option<String>);

pub(crate) fn build(inventory: &Inventory) -> View<'_> {
    let mut components: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    // Versioned occurrences first, so unversioned declarations can join the one version of
    // their name.
    let mut order: Vec<usize> = (0..inventory.packages.len()).collect();
    order.sort_by_key(|&i| {
        inventory
            .packages
            .get(i)
            .is_none_or(|p| p.version.is_none())
    });
    let mut component_of: HashMap<usize, Key> = HashMap::new();
    for index in order {
        let Some(package) = inventory.packages.get(index) else {
            continue;
        };
        let name = package.normalized_name.clone();
        let key = match &package.version {
            Some(version) => (
                package.ecosystem,
                name,
                Some(normalize_version(package.ecosystem, version)),
            ),
            None => {
                let versions: Vec<&Key> = components
                    .keys()
                    .filter(|(e, n, v)| *e == package.ecosystem && *n == name && v.is_some())
                    .collect();
                match versions.as_slice() {
                    [only] => (*only).clone(),
                    _ => (package.ecosystem, name, None),
                }
            }
        };
        // A constraint alone is not a dependency: it only pins what something else requires.
        if package.scope == Scope::Constraint && !components.contains_key(&key) {
            continue;
        }
        components.entry(key.clone()).or_default().push(index);
        component_of.insert(index, key);
    }
    let mut used_references: BTreeSet<String> = BTreeSet::new();
    let mut reference_of: HashMap<Key, String> = HashMap::new();
    let mut packages: Vec<PackageComponent<'_>> = Vec::new();
    for (key, indices) in &components {
        let occurrences: Vec<&Package> = indices
            .iter()
            .filter_map(|&i| inventory.packages.get(i))
            .collect();
        // Installed metadata says most (summary, license); a lock entry is exact too.
        let rank = |p: &Package| match p.origin {
            SourceFormat::Environment => 0,
            origin if origin.is_lock() => 1,
            _ if p.version.is_some() => 2,
            _ => 3,
        };
        let Some(main) = occurrences.iter().min_by_key(|p| rank(p)).copied() else {
            continue;
        };
        let package_url = package_purl(main, main.version.as_deref());
        let mut reference = package_url.clone();
        let mut n = 1;
        while !used_references.insert(reference.clone()) {
            n += 1;
            reference = format!("{package_url}#{n}");
        }
        reference_of.insert(key.clone(), reference.clone());
        packages.push(PackageComponent {
            reference,
            main,
            occurrences,
            purl: package_url,
            depends_on: Vec::new(),
        });
    }
    let mut depended_on: BTreeSet<String> = BTreeSet::new();
    for component in &mut packages {
        let mut targets: BTreeSet<String> = BTreeSet::new();
        for package in &component.occurrences {
            for dependency in &package.dependencies {
                if let Some(target) = component_of
                    .get(dependency)
                    .and_then(|k| reference_of.get(k))
                    && *target != component.reference
                {
                    targets.insert(target.clone());
                }
            }
        }
        depended_on.extend(targets.iter().cloned());
        component.depends_on = targets.into_iter().collect();
    }
    let datasets: Vec<(String, &Dataset)> = inventory
        .datasets
        .iter()
        .map(|d| (format!("data:{}", d.path), d))
        .collect();
    let models = inventory
        .models
        .iter()
        .map(|m| {
            let links = m
                .card
                .datasets
                .iter()
                .map(|name| DatasetLink {
                    name: name.clone(),
                    reference: datasets
                        .iter()
                        .find(|(_, d)| names_dataset(name, d))
                        .map(|(r, _)| r.clone()),
                })
                .collect();
            (format!("model:{}", m.path), m, links)
        })
        .collect::<Vec<_>>();
    let mut root_depends_on: Vec<String> = packages
        .iter()
        .filter(|c| {
            let direct: Vec<Option<bool>> = c.occurrences.iter().map(|p| p.direct).collect();
            direct.contains(&Some(true))
                || (direct.iter().all(Option::is_none) && !depended_on.contains(&c.reference))
        })
        .map(|c| c.reference.clone())
        .collect();
    root_depends_on.extend(models.iter().map(|(r, _, _)| r.clone()));
    root_depends_on.extend(datasets.iter().map(|(r, _)| r.clone()));
    View {
        root_reference: "root".to_owned(),
        packages,
        models,
        datasets,
        root_depends_on,
    }
}

/// Python versions compared as PEP 440 does where they parse (`2022.12.07` is
/// `2022.12.7`); OS package versions are exact strings.
fn normalize_version(ecosystem: Ecosystem, version: &str) -> String {
    if matches!(ecosystem, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm) {
        return version.to_owned();
    }
    version
        .parse::<pep440_rs::Version>()
        .map(|v| v.to_string())
        .unwrap_or_else(|_| version.to_owned())
}

fn package_purl(package: &Package, version: Option<&str>) -> String {
    let mut qualifiers: Vec<(&str, String)> = Vec::new();
    match &package.source {
        PackageSource::Vcs { url, commit, .. } => qualifiers.push((
            "vcs_url",
            match commit {
                Some(commit) => format!("{url}@{commit}"),
                None => url.clone(),
            },
        )),
        PackageSource::Url { url } => qualifiers.push(("download_url", url.clone())),
        PackageSource::Index { url } => qualifiers.push(("repository_url", url.clone())),
        PackageSource::Local { .. } | PackageSource::Registry => {}
    }
    let qualifiers: Vec<(&str, &str)> = qualifiers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match package.ecosystem {
        Ecosystem::PyPI => pypi_purl(&package.name, version, &qualifiers),
        Ecosystem::Conda => purl(
            "conda",
            None,
            &package.normalized_name,
            version,
            &qualifiers,
        ),
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => os_purl(package, version),
    }
}

/// `pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12`,
/// `pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3`,
/// `pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.3&epoch=1` (Trivy's
/// form of purl-spec `deb`/`apk`/`rpm`: an rpm epoch is a qualifier, not part of the version).
fn os_purl(package: &Package, version: Option<&str>) -> String {
    let kind = match package.ecosystem {
        Ecosystem::Apk => "apk",
        Ecosystem::Rpm => "rpm",
        _ => "deb",
    };
    let (epoch, version) = match version {
        Some(evr) if package.ecosystem == Ecosystem::Rpm => match evr.split_once(':') {
            Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => {
                (Some(epoch), Some(rest))
            }
            _ => (None, Some(evr)),
        },
        other => (None, other),
    };
    let os = package.os.clone().unwrap_or_default();
    let mut qualifiers: Vec<(&str, &str)> = Vec::new();
    if let Some(arch) = &os.arch {
        qualifiers.push(("arch", arch));
    }
    if let Some(epoch) = epoch.filter(|e| !e.trim_start_matches('0').is_empty()) {
        qualifiers.push(("epoch", epoch));
    }
    if let Some(distro) = &os.distro {
        qualifiers.push(("distro", distro));
    }
    purl(
        kind,
        Some(&os.namespace),
        &package.name,
        version,
        &qualifiers,
    )
}

/// A card's dataset id (`squad`, `org/name`) names a dataset component of that name, or one
/// whose path ends in it.
fn names_dataset(name: &str, dataset: &Dataset) -> bool {
    let wanted = name.to_ascii_lowercase();
    let stem = |s: &str| {
        let last = s.rsplit('/').next().unwrap_or(s).to_ascii_lowercase();
        last.split('.').next().unwrap_or_default().to_owned()
    };
    dataset.name.eq_ignore_ascii_case(name) || stem(&dataset.name) == stem(&wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::Location;

    fn package(
        name: &str,
        version: Option<&str>,
        origin: SourceFormat,
        direct: Option<bool>,
    ) -> Package {
        let mut p = Package::named(name, origin, Location::file("x"));
        p.version = version.map(str::to_owned);
        p.direct = direct;
        p
    }

    #[test]
    fn merges_occurrences_and_links_the_graph() {
        let mut installed = package(
            "Requests",
            Some("2.25.0"),
            SourceFormat::Environment,
            Some(true),
        );
        installed.dependencies = vec![1];
        let urllib3 = package(
            "urllib3",
            Some("1.26.0"),
            SourceFormat::Environment,
            Some(false),
        );
        let declared = package("requests", None, SourceFormat::RequirementsTxt, Some(true));
        let mut constraint = package(
            "idna",
            Some("2.10"),
            SourceFormat::RequirementsTxt,
            Some(false),
        );
        constraint.scope = Scope::Constraint;
        let inventory = Inventory {
            packages: vec![installed, urllib3, declared, constraint],
            ..Inventory::default()
        };
        let view = build(&inventory);
        let summary: Vec<_> = view
            .packages
            .iter()
            .map(|c| {
                (
                    c.reference.as_str(),
                    c.occurrences.len(),
                    c.depends_on.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "pkg:pypi/requests@2.25.0",
                    2,
                    vec!["pkg:pypi/urllib3@1.26.0".to_owned()]
                ),
                ("pkg:pypi/urllib3@1.26.0", 1, vec![]),
            ]
        );
        assert_eq!(view.root_depends_on, ["pkg:pypi/requests@2.25.0"]);
    }
}
