//! Container images named on the command line (`rampart scan/sbom/audit IMAGE`): telling
//! them from other paths by content, opening them with an error that says what to do, and
//! scanning them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rampart_advisories::{Database, OsPackageRef, PackageRef, PackageVerdict};
use rampart_core::{Finding, Limits};
use rampart_image::{Image, looks_like_image};
use rampart_inventory::{Inventory, Options, Package};
use rampart_scan::{ScanOutput, Scanner};

/// The paths that are container images (OCI layouts, OCI archives, `docker save`
/// archives), and the others.
pub(crate) fn split_images(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    paths
        .iter()
        .cloned()
        .partition(|path| looks_like_image(path))
}

/// `--platform` only means something for an image.
pub(crate) fn check_platform_use(platform: Option<&str>, images: &[PathBuf]) -> anyhow::Result<()> {
    if let Some(platform) = platform
        && images.is_empty()
    {
        anyhow::bail!(
            "--platform {platform} selects a platform of a container image, but no PATH is an image \
             (an OCI layout directory, an OCI archive or a `docker save` archive)"
        );
    }
    Ok(())
}

/// Opens an image; a corrupt or ambiguous one is an input error (exit 2) naming the image.
pub(crate) fn open(path: &Path, platform: Option<&str>, limits: &Limits) -> anyhow::Result<Image> {
    Image::open(path, platform, limits)
        .with_context(|| format!("cannot read the container image `{}`", path.display()))
}

/// Scans each image: its config and every file of every layer.
pub(crate) fn scan_images(
    scanner: &Scanner,
    images: &[PathBuf],
    platform: Option<&str>,
    on_file: &(dyn Fn() + Sync),
) -> anyhow::Result<Vec<ScanOutput>> {
    let mut outputs = Vec::new();
    for path in images {
        let image = open(path, platform, scanner.limits())?;
        outputs.extend(scanner.scan_image(&image, on_file));
    }
    Ok(outputs)
}

/// The inventory of `path`: a container image's (with the findings about the image itself,
/// such as damaged layers), else whatever `Inventory::collect` reads there.
pub(crate) fn collect(
    path: &Path,
    platform: Option<&str>,
    options: &Options,
) -> anyhow::Result<(Inventory, Vec<Finding>)> {
    if !looks_like_image(path) {
        check_platform_use(platform, &[])?;
        return Ok((Inventory::collect(path, options)?, Vec::new()));
    }
    let image = open(path, platform, &options.limits)?;
    let mut findings = Vec::new();
    let inventory = Inventory::collect_image(&image, options, &mut findings);
    Ok((inventory, findings))
}

/// The audit of each package, in order: Python packages against PyPI advisories
/// (`references` are theirs), OS packages against their distribution release's advisories
/// by source package and version.
pub(crate) fn audit_verdicts(
    database: &Database,
    packages: &[Package],
    references: &[PackageRef],
) -> Vec<PackageVerdict> {
    let (os, python): (Vec<usize>, Vec<usize>) =
        (0..packages.len()).partition(|&i| packages.get(i).is_some_and(|p| p.os.is_some()));
    let python_refs: Vec<PackageRef> = python
        .iter()
        .filter_map(|&i| references.get(i).cloned())
        .collect();
    let os_refs: Vec<OsPackageRef> = os
        .iter()
        .filter_map(|&i| packages.get(i))
        .map(|package| {
            let facts = package.os.clone().unwrap_or_default();
            OsPackageRef {
                ecosystem: facts.advisory_ecosystem.unwrap_or_else(|| {
                    format!(
                        "{} (release unknown: no VERSION_ID in os-release)",
                        facts.namespace
                    )
                }),
                name: facts.source_name.unwrap_or_else(|| package.name.clone()),
                version: facts.source_version.or_else(|| package.version.clone()),
            }
        })
        .collect();
    let mut verdicts: Vec<Option<PackageVerdict>> = vec![None; packages.len()];
    for (index, verdict) in python.iter().zip(database.audit(&python_refs)) {
        if let Some(slot) = verdicts.get_mut(*index) {
            *slot = Some(verdict);
        }
    }
    for (index, mut verdict) in os.iter().zip(database.audit_os(&os_refs)) {
        // Findings name the installed package, and the source package advisories are about.
        if let Some(package) = packages.get(*index)
            && package.name != verdict.package.name
        {
            verdict.package.name = format!("{} (source {})", package.name, verdict.package.name);
        }
        if let Some(slot) = verdicts.get_mut(*index) {
            *slot = Some(verdict);
        }
    }
    verdicts.into_iter().flatten().collect()
}
