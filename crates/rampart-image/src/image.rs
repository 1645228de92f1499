//! Opening an image: finding its manifest (choosing a platform), config and layers, and
//! verifying every JSON blob against its digest.

use std::collections::BTreeMap;
use std::path::Path;

use rampart_core::rules::MALFORMED;
use rampart_core::{Finding, Limits, Location};
use serde::Deserialize;

use crate::config::ImageConfig;
use crate::digest::{self, Digest};
use crate::error::{ImageError, Result};
use crate::platform::Platform;
use crate::source::{Bytes, Source, check_json_size};

/// Which on-disk form the image came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// An OCI image layout directory, or a tar of one (docker 25+ `docker save` writes this
    /// too, with a `manifest.json` beside it).
    Oci,
    /// A legacy `docker save` archive: `manifest.json`, `<config>.json`, `<id>/layer.tar`.
    DockerSave,
}

/// One layer, bottom (index 0) to top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub index: usize,
    /// The digest of the blob as stored (compressed), when the image records one.
    pub digest: Option<Digest>,
    /// The digest of the uncompressed tar, from the config's `rootfs.diff_ids`.
    pub diff_id: Option<Digest>,
    pub media_type: Option<String>,
    /// The descriptor's size, when there is a descriptor.
    pub size: Option<u64>,
    /// The member of the image holding the blob (`blobs/sha256/…` or `<id>/layer.tar`).
    pub blob_name: String,
}

impl Layer {
    /// The digest to name the layer by: the blob digest, else the diff id.
    pub fn id(&self) -> String {
        self.digest
            .as_ref()
            .or(self.diff_id.as_ref())
            .map_or_else(|| self.blob_name.clone(), ToString::to_string)
    }

    /// How findings name the layer, as the container member between the image and the path
    /// inside the layer: `layer 2 (sha256:0123456789ab)`, the index counted from the bottom
    /// layer (0) and the digest cut to the 12 hex digits `docker history` shows.
    pub fn label(&self) -> String {
        let id = self.id();
        let short = match id.strip_prefix("sha256:") {
            Some(hex) => format!("sha256:{}", hex.get(..12).unwrap_or(hex)),
            None => id,
        };
        format!("layer {} ({short})", self.index)
    }
}

/// A container image read from disk, ready to [`walk`](Image::walk).
pub struct Image {
    pub format: ImageFormat,
    /// The manifest's digest (what `image@sha256:…` references); `None` for a legacy docker
    /// save archive, which has no manifest blob (use [`Image::config_digest`], the image id).
    pub manifest_digest: Option<Digest>,
    pub config_digest: Digest,
    /// The platform chosen from the index, or the config's.
    pub platform: Option<Platform>,
    pub config: ImageConfig,
    pub layers: Vec<Layer>,
    /// `repo:tag` names the archive records.
    pub repo_tags: Vec<String>,
    pub(crate) location: Location,
    pub(crate) source: Source,
    findings: Vec<Finding>,
}

const INDEX_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
/// How deep indexes may nest (docker's index.json points to an index of platforms).
const MAX_INDEX_DEPTH: usize = 4;
const REF_NAME_ANNOTATIONS: &[&str] = &[
    "io.containerd.image.name",
    "org.opencontainers.image.ref.name",
];

impl Image {
    /// Opens an OCI layout directory, an OCI archive or a `docker save` archive (plain or
    /// gzip-wrapped). `platform` (`os/arch[/variant]`) picks a manifest from a multi-arch
    /// index; without it an index with several platforms is an error that lists them.
    pub fn open(path: &Path, platform: Option<&str>, limits: &Limits) -> Result<Image> {
        let mut findings = Vec::new();
        let source = Source::open(path, limits, &mut findings)?;
        Image::resolve(
            source,
            &path.display().to_string(),
            platform,
            limits,
            findings,
        )
    }

    /// [`Image::open`] for an archive already in memory; `display` names it in findings.
    pub fn from_archive_bytes(
        bytes: Vec<u8>,
        display: &str,
        platform: Option<&str>,
        limits: &Limits,
    ) -> Result<Image> {
        let mut findings = Vec::new();
        let source = Source::archive(Bytes::Owned(bytes), display, limits, &mut findings)?;
        Image::resolve(source, display, platform, limits, findings)
    }

    /// Anomalies found while opening (outer archive problems, config/manifest
    /// inconsistencies) that did not stop it.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The location findings about this image start from.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The digest that identifies the image: the manifest digest, else the config digest.
    pub fn digest(&self) -> &Digest {
        self.manifest_digest.as_ref().unwrap_or(&self.config_digest)
    }

    fn resolve(
        source: Source,
        display: &str,
        platform: Option<&str>,
        limits: &Limits,
        findings: Vec<Finding>,
    ) -> Result<Image> {
        let wanted = platform.map(Platform::parse).transpose()?;
        let location = Location::file(display);
        let mut image = if source.has("index.json") {
            resolve_oci(source, location, wanted.as_ref(), limits)?
        } else if source.has("manifest.json") {
            resolve_docker(source, location, wanted.as_ref(), limits)?
        } else {
            return Err(ImageError::NotAnImage {
                path: display.to_owned(),
            });
        };
        image.findings.splice(0..0, findings);
        image.check_diff_ids();
        Ok(image)
    }

    fn check_diff_ids(&mut self) {
        if self.config.diff_ids.len() != self.layers.len() {
            self.findings.push(Finding::new(
                &MALFORMED,
                self.location.member(self.config_digest.blob_path()),
                format!(
                    "the image config lists {} layer diff ids but the manifest has {} layers; runtimes \
                     refuse such an image",
                    self.config.diff_ids.len(),
                    self.layers.len()
                ),
            ));
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: Option<String>,
    digest: String,
    size: Option<u64>,
    platform: Option<PlatformJson>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct PlatformJson {
    os: String,
    architecture: String,
    variant: Option<String>,
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    media_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// An image manifest an index offers, with the platform it is for when known.
struct Candidate<T> {
    item: T,
    platform: Option<Platform>,
}

fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|error| ImageError::Malformed {
        what: what.to_owned(),
        reason: error.to_string(),
    })
}

/// A blob named by a descriptor, verified against its digest and size.
fn verified_blob<'s>(
    source: &'s Source,
    digest: &Digest,
    size: Option<u64>,
    limits: &Limits,
) -> Result<crate::source::Blob<'s>> {
    let name = digest.blob_path();
    let blob = source.member(&name)?;
    check_json_size(&name, &blob, limits)?;
    digest::verify(&name, &blob, digest, size)?;
    Ok(blob)
}

fn resolve_oci(
    source: Source,
    location: Location,
    wanted: Option<&Platform>,
    limits: &Limits,
) -> Result<Image> {
    let index_json = source.json_member("index.json", limits)?;
    let index: Index = parse_json(&index_json, "index.json")?;
    let mut candidates = Vec::new();
    collect_manifests(&source, index, 0, limits, &mut candidates)?;
    drop(index_json);
    let chosen = select(candidates, wanted)?;
    let descriptor = chosen.item;
    let manifest_digest = Digest::parse(&descriptor.digest)?;
    let manifest_blob = verified_blob(&source, &manifest_digest, descriptor.size, limits)?;
    let manifest: Manifest = parse_json(&manifest_blob, &manifest_digest.blob_path())?;
    drop(manifest_blob);
    if manifest
        .media_type
        .as_deref()
        .is_some_and(|media_type| INDEX_MEDIA_TYPES.contains(&media_type))
    {
        return Err(ImageError::Malformed {
            what: manifest_digest.blob_path(),
            reason: "an image manifest was expected, the blob is an index".to_owned(),
        });
    }
    let config_digest = Digest::parse(&manifest.config.digest)?;
    let config_blob = verified_blob(&source, &config_digest, manifest.config.size, limits)?;
    let config = ImageConfig::parse(&config_blob, &config_digest.blob_path())?;
    drop(config_blob);
    let platform = chosen.platform.or_else(|| config_platform(&config));
    check_platform(wanted, platform.as_ref())?;
    if manifest.layers.len() > limits.max_members {
        return Err(too_many(
            "the manifest's layer list",
            manifest.layers.len(),
            limits,
        ));
    }
    let layers = manifest
        .layers
        .into_iter()
        .enumerate()
        .map(|(index, layer)| {
            let digest = Digest::parse(&layer.digest)?;
            Ok(Layer {
                index,
                blob_name: digest.blob_path(),
                digest: Some(digest),
                diff_id: diff_id(&config, index),
                media_type: layer.media_type,
                size: layer.size,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let repo_tags = REF_NAME_ANNOTATIONS
        .iter()
        .filter_map(|key| descriptor.annotations.get(*key).cloned())
        .collect();
    Ok(Image {
        format: ImageFormat::Oci,
        manifest_digest: Some(manifest_digest),
        config_digest,
        platform,
        config,
        layers,
        repo_tags,
        location,
        source,
        findings: Vec::new(),
    })
}

fn too_many(what: &str, count: usize, limits: &Limits) -> ImageError {
    ImageError::Limit {
        what: what.to_owned(),
        limit: "max_members",
        size: count as u64,
        max: limits.max_members as u64,
    }
}

/// The image manifests of `index`, following nested indexes. Attestations and other
/// artifacts an index may list next to images are not candidates.
fn collect_manifests(
    source: &Source,
    index: Index,
    depth: usize,
    limits: &Limits,
    candidates: &mut Vec<Candidate<Descriptor>>,
) -> Result<()> {
    if index.manifests.len() > limits.max_members {
        return Err(too_many("an image index", index.manifests.len(), limits));
    }
    for descriptor in index.manifests {
        let media_type = descriptor.media_type.as_deref().unwrap_or("");
        if INDEX_MEDIA_TYPES.contains(&media_type) {
            if depth >= MAX_INDEX_DEPTH {
                return Err(ImageError::Malformed {
                    what: "the image index".to_owned(),
                    reason: format!("indexes nest more than {MAX_INDEX_DEPTH} deep"),
                });
            }
            let digest = Digest::parse(&descriptor.digest)?;
            let blob = verified_blob(source, &digest, descriptor.size, limits)?;
            let nested: Index = parse_json(&blob, &digest.blob_path())?;
            collect_manifests(source, nested, depth + 1, limits, candidates)?;
            continue;
        }
        let is_attestation = descriptor
            .annotations
            .get("vnd.docker.reference.type")
            .is_some_and(|kind| kind == "attestation-manifest");
        let platform = descriptor.platform.as_ref().map(|p| Platform {
            os: p.os.clone(),
            architecture: p.architecture.clone(),
            variant: p.variant.clone().filter(|v| !v.is_empty()),
        });
        let unknown_platform = platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown");
        if is_attestation || unknown_platform {
            continue;
        }
        candidates.push(Candidate {
            item: descriptor,
            platform,
        });
    }
    Ok(())
}

fn describe<T>(candidates: &[Candidate<T>], label: impl Fn(&T) -> Option<String>) -> String {
    candidates
        .iter()
        .map(|candidate| {
            let platform = candidate
                .platform
                .as_ref()
                .map_or_else(|| "unspecified platform".to_owned(), ToString::to_string);
            match label(&candidate.item) {
                Some(label) => format!("{platform} ({label})"),
                None => platform,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Picks the one candidate for `wanted`. A lone candidate without a platform is taken and
/// checked against its config's platform later.
fn select<T>(mut candidates: Vec<Candidate<T>>, wanted: Option<&Platform>) -> Result<Candidate<T>> {
    let available = describe(&candidates, |_| None);
    if candidates.is_empty() {
        return Err(ImageError::Malformed {
            what: "the image index".to_owned(),
            reason: "it lists no image manifest".to_owned(),
        });
    }
    if let Some(wanted) = wanted
        && !(candidates.len() == 1 && candidates.iter().all(|c| c.platform.is_none()))
    {
        candidates.retain(|c| c.platform.as_ref().is_some_and(|p| p.satisfies(wanted)));
        if candidates.is_empty() {
            return Err(ImageError::PlatformNotFound {
                wanted: wanted.to_string(),
                available,
            });
        }
    }
    match candidates.pop() {
        Some(only) if candidates.is_empty() => Ok(only),
        _ => Err(ImageError::AmbiguousPlatform { available }),
    }
}

fn config_platform(config: &ImageConfig) -> Option<Platform> {
    Some(Platform {
        os: config.os.clone()?,
        architecture: config.architecture.clone()?,
        variant: config.variant.clone().filter(|v| !v.is_empty()),
    })
}

fn check_platform(wanted: Option<&Platform>, actual: Option<&Platform>) -> Result<()> {
    match (wanted, actual) {
        (Some(wanted), Some(actual)) if !actual.satisfies(wanted) => {
            Err(ImageError::PlatformNotFound {
                wanted: wanted.to_string(),
                available: actual.to_string(),
            })
        }
        _ => Ok(()),
    }
}

fn diff_id(config: &ImageConfig, index: usize) -> Option<Digest> {
    config
        .diff_ids
        .get(index)
        .and_then(|id| Digest::parse(id).ok())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn resolve_docker(
    source: Source,
    location: Location,
    wanted: Option<&Platform>,
    limits: &Limits,
) -> Result<Image> {
    let manifest_json = source.json_member("manifest.json", limits)?;
    let entries: Vec<DockerManifest> = parse_json(&manifest_json, "manifest.json")?;
    drop(manifest_json);
    if entries.len() > limits.max_members {
        return Err(too_many("manifest.json", entries.len(), limits));
    }
    let mut candidates = Vec::new();
    for entry in entries {
        let config_digest =
            Digest::from_member_name(&entry.config).ok_or_else(|| ImageError::Malformed {
                what: format!("manifest.json config '{}'", digest::shorten(&entry.config)),
                reason: "the name carries no sha256 digest, so the config cannot be verified"
                    .to_owned(),
            })?;
        let blob = source.json_member(&entry.config, limits)?;
        digest::verify(&entry.config, &blob, &config_digest, None)?;
        let config = ImageConfig::parse(&blob, &entry.config)?;
        drop(blob);
        candidates.push(Candidate {
            platform: config_platform(&config),
            item: (entry, config_digest, config),
        });
    }
    let label = |(entry, _, _): &(DockerManifest, Digest, ImageConfig)| {
        entry
            .repo_tags
            .as_ref()
            .and_then(|tags| tags.first().cloned())
    };
    if candidates.len() > 1 && wanted.is_none() {
        return Err(ImageError::AmbiguousPlatform {
            available: describe(&candidates, label),
        });
    }
    let chosen = select(candidates, wanted)?;
    let (entry, config_digest, config) = chosen.item;
    if entry.layers.len() > limits.max_members {
        return Err(too_many(
            "the manifest.json layer list",
            entry.layers.len(),
            limits,
        ));
    }
    let layers = entry
        .layers
        .into_iter()
        .enumerate()
        .map(|(index, blob_name)| Layer {
            index,
            digest: blob_name
                .strip_prefix("blobs/sha256/")
                .and_then(|_| Digest::from_member_name(&blob_name)),
            diff_id: diff_id(&config, index),
            media_type: None,
            size: None,
            blob_name,
        })
        .collect();
    Ok(Image {
        format: ImageFormat::DockerSave,
        manifest_digest: None,
        config_digest,
        platform: chosen.platform,
        config,
        layers,
        repo_tags: entry.repo_tags.unwrap_or_default(),
        location,
        source,
        findings: Vec::new(),
    })
}
