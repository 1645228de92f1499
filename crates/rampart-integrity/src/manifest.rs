//! The manifest: one digest per file (or per shard of a file), named and ordered exactly as
//! OpenSSF Model Signing v1.0 names and orders its resources, and the root digest over them.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

/// The content hash applied to each file or shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha256,
    /// BLAKE2b-512 (64-byte digest, no key), as Python's `hashlib.blake2b()`.
    Blake2b,
    Blake3,
}

impl HashAlgorithm {
    /// The name OMS writes in `hash_type` and in files-mode resources.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Blake2b => "blake2b",
            HashAlgorithm::Blake3 => "blake3",
        }
    }

    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 | HashAlgorithm::Blake3 => 32,
            HashAlgorithm::Blake2b => 64,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlgorithm {
    type Err = String;

    /// Accepts OMS names and the Python API's input spelling `blake2`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sha256" => Ok(HashAlgorithm::Sha256),
            "blake2b" | "blake2" => Ok(HashAlgorithm::Blake2b),
            "blake3" => Ok(HashAlgorithm::Blake3),
            other => Err(format!(
                "unknown hash algorithm `{other}` (expected sha256, blake2b or blake3)"
            )),
        }
    }
}

/// How files are cut into resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialization {
    /// One resource per file, the digest of its whole content.
    Files { hash: HashAlgorithm },
    /// One resource per `shard_size` bytes of each non-empty file, so one large file can be
    /// hashed on every core. Empty files produce no resource (OMS semantics).
    Shards {
        hash: HashAlgorithm,
        shard_size: u64,
    },
}

/// The shard size model_signing uses by default (decimal, 1 GB).
pub const DEFAULT_SHARD_SIZE: u64 = 1_000_000_000;

impl Serialization {
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Serialization::Files { hash } | Serialization::Shards { hash, .. } => hash,
        }
    }

    pub fn method(self) -> &'static str {
        match self {
            Serialization::Files { .. } => "files",
            Serialization::Shards { .. } => "shards",
        }
    }

    /// The `algorithm` every resource of this serialization carries.
    pub fn resource_algorithm(self) -> String {
        match self {
            Serialization::Files { hash } => hash.name().to_owned(),
            Serialization::Shards { hash, shard_size } => format!("{hash}-sharded-{shard_size}"),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Serialization::Files { hash } => format!("files, {hash}"),
            Serialization::Shards { hash, shard_size } => {
                format!("shards of {shard_size} bytes, {hash}")
            }
        }
    }
}

/// What a resource covers: a whole file, or the byte range `[start, end)` of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceKey {
    /// `/`-separated path relative to the model root; `.` when the model is a single file.
    pub path: String,
    pub range: Option<(u64, u64)>,
}

impl ResourceKey {
    pub fn file(path: impl Into<String>) -> Self {
        ResourceKey {
            path: path.into(),
            range: None,
        }
    }

    /// Parses an OMS resource name: `path` in files mode, `path:start:end` in shards mode.
    pub fn parse(name: &str, sharded: bool) -> Result<Self, String> {
        if !sharded {
            return Ok(ResourceKey::file(name));
        }
        let parts: Vec<&str> = name.split(':').collect();
        let [path, start, end] = parts.as_slice() else {
            return Err(format!("shard name `{name}` is not `path:start:end`"));
        };
        let start: u64 = start
            .parse()
            .map_err(|_| format!("bad shard start in `{name}`"))?;
        let end: u64 = end
            .parse()
            .map_err(|_| format!("bad shard end in `{name}`"))?;
        if end < start {
            return Err(format!("shard `{name}` ends before it starts"));
        }
        Ok(ResourceKey {
            path: (*path).to_owned(),
            range: Some((start, end)),
        })
    }

    /// The OMS resource name.
    pub fn name(&self) -> String {
        match self.range {
            None => self.path.clone(),
            Some((start, end)) => format!("{}:{start}:{end}", self.path),
        }
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.range {
            None => f.write_str(&self.path),
            Some((start, end)) => write!(f, "{} (bytes {start}..{end})", self.path),
        }
    }
}

impl Ord for ResourceKey {
    /// OMS order: by path components (so `weights/x` sorts before `weights-v2.txt`), then by
    /// shard offsets as integers.
    fn cmp(&self, other: &Self) -> Ordering {
        self.path
            .split('/')
            .cmp(other.path.split('/'))
            .then_with(|| self.range.cmp(&other.range))
    }
}

impl PartialOrd for ResourceKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One file or shard and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub key: ResourceKey,
    pub algorithm: String,
    pub digest: Vec<u8>,
    /// Bytes covered, when known (OMS bundles do not record file sizes).
    pub size: Option<u64>,
}

/// The git paths OMS ignores unless told otherwise.
pub const GIT_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// Every digest of a model or dataset, in OMS order, with how it was produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The model's name (the last path component); informative only, never compared.
    pub name: String,
    pub serialization: Serialization,
    pub allow_symlinks: bool,
    /// Paths relative to the model root excluded from the manifest, sorted.
    pub ignore_paths: Vec<String>,
    pub resources: Vec<Resource>,
}

impl Manifest {
    /// SHA-256 over the raw digest bytes of every resource, in listed order: the OMS subject
    /// digest, a single stable identifier of the model's content.
    pub fn root_digest(&self) -> [u8; 32] {
        root_digest(
            self.resources
                .iter()
                .map(|resource| resource.digest.as_slice()),
        )
    }

    /// Number of distinct files the manifest covers.
    pub fn file_count(&self) -> usize {
        let mut count = 0;
        let mut previous: Option<&str> = None;
        for resource in &self.resources {
            if previous != Some(resource.key.path.as_str()) {
                count += 1;
                previous = Some(&resource.key.path);
            }
        }
        count
    }

    /// Bytes covered, when every resource's size is known.
    pub fn total_bytes(&self) -> Option<u64> {
        self.resources.iter().map(|resource| resource.size).sum()
    }

    /// Compares what was recorded (`self`) with what is on disk now (`actual`).
    pub fn diff(&self, actual: &Manifest) -> Diff {
        Diff::between(&self.resources, &actual.resources)
    }
}

pub(crate) fn root_digest<'a>(digests: impl Iterator<Item = &'a [u8]>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for digest in digests {
        hasher.update(digest);
    }
    hasher.finalize().into()
}

/// How the files on disk differ from a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Content changed (or was hashed with another algorithm).
    pub modified: Vec<Modified>,
    /// On disk but not in the manifest.
    pub added: Vec<String>,
    /// In the manifest but not on disk.
    pub removed: Vec<String>,
    /// Same content under another name: `(recorded, now)`.
    pub renamed: Vec<Renamed>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Modified {
    pub name: String,
    pub expected: String,
    pub actual: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Renamed {
    pub from: String,
    pub to: String,
}

impl Diff {
    fn between(expected: &[Resource], actual: &[Resource]) -> Diff {
        // Duplicated names collapse, the last one winning, as in the reference verifier.
        let expected: BTreeMap<&ResourceKey, &Resource> = expected
            .iter()
            .map(|resource| (&resource.key, resource))
            .collect();
        let actual: BTreeMap<&ResourceKey, &Resource> = actual
            .iter()
            .map(|resource| (&resource.key, resource))
            .collect();
        let mut diff = Diff::default();
        let mut removed = Vec::new();
        for (key, recorded) in &expected {
            match actual.get(key) {
                None => removed.push(*recorded),
                Some(found)
                    if found.algorithm != recorded.algorithm || found.digest != recorded.digest =>
                {
                    diff.modified.push(Modified {
                        name: key.to_string(),
                        expected: format!(
                            "{}:{}",
                            recorded.algorithm,
                            hex::encode(&recorded.digest)
                        ),
                        actual: format!("{}:{}", found.algorithm, hex::encode(&found.digest)),
                    });
                }
                Some(_) => {}
            }
        }
        let mut added: Vec<&Resource> = actual
            .iter()
            .filter(|(key, _)| !expected.contains_key(*key))
            .map(|(_, r)| *r)
            .collect();
        // A removed and an added whole file with the same digest is a rename.
        removed.retain(|gone| {
            let twin = added.iter().position(|new| {
                gone.key.range.is_none()
                    && new.key.range.is_none()
                    && new.algorithm == gone.algorithm
                    && new.digest == gone.digest
            });
            match twin {
                Some(position) => {
                    let new = added.remove(position);
                    diff.renamed.push(Renamed {
                        from: gone.key.to_string(),
                        to: new.key.to_string(),
                    });
                    false
                }
                None => true,
            }
        });
        diff.removed = removed
            .iter()
            .map(|resource| resource.key.to_string())
            .collect();
        diff.added = added
            .iter()
            .map(|resource| resource.key.to_string())
            .collect();
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.modified.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.renamed.is_empty()
    }

    /// One line per difference, for messages.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for change in &self.modified {
            lines.push(format!(
                "modified: {} (expected {}, found {})",
                change.name, change.expected, change.actual
            ));
        }
        for name in &self.added {
            lines.push(format!("added: {name} (not in the signed manifest)"));
        }
        for name in &self.removed {
            lines.push(format!("removed: {name} (signed, missing on disk)"));
        }
        for rename in &self.renamed {
            lines.push(format!("renamed: {} -> {}", rename.from, rename.to));
        }
        lines
    }
}

/// The detached manifest `rampart hash --format json` writes and `rampart verify --manifest`
/// reads. Its `serialization` block has the shape of the OMS predicate's.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestDocument {
    pub schema_version: String,
    pub name: String,
    pub root_digest: RootDigest,
    pub serialization: SerializationBlock,
    pub resources: Vec<ResourceEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ManifestSummary>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootDigest {
    pub algorithm: String,
    pub digest: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSummary {
    pub files: usize,
    pub bytes: u64,
}

/// The OMS `serialization` block.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SerializationBlock {
    pub method: String,
    pub hash_type: String,
    /// An integer when written; the reference tool writes a float, accepted when integral.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_size: Option<serde_json::Number>,
    pub allow_symlinks: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_paths: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceEntry {
    pub name: String,
    pub algorithm: String,
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

pub const MANIFEST_SCHEMA_VERSION: &str = "1.0";

impl SerializationBlock {
    pub fn of(manifest: &Manifest) -> Self {
        SerializationBlock {
            method: manifest.serialization.method().to_owned(),
            hash_type: manifest.serialization.hash().name().to_owned(),
            shard_size: match manifest.serialization {
                Serialization::Shards { shard_size, .. } => Some(shard_size.into()),
                Serialization::Files { .. } => None,
            },
            allow_symlinks: manifest.allow_symlinks,
            ignore_paths: Some(manifest.ignore_paths.clone()),
        }
    }

    pub fn serialization(&self) -> Result<Serialization, String> {
        let hash: HashAlgorithm = self.hash_type.parse()?;
        match self.method.as_str() {
            "files" => Ok(Serialization::Files { hash }),
            "shards" => {
                let size = self
                    .shard_size
                    .as_ref()
                    .ok_or("shards serialization without `shard_size`")?;
                let shard_size = integral(size)
                    .filter(|size| *size > 0)
                    .ok_or_else(|| format!("`shard_size` {size} is not a positive integer"))?;
                Ok(Serialization::Shards { hash, shard_size })
            }
            other => Err(format!("unknown serialization method `{other}`")),
        }
    }
}

/// `1048576` or `1048576.0`, but not `1.5` or `-1`.
fn integral(number: &serde_json::Number) -> Option<u64> {
    if let Some(value) = number.as_u64() {
        return Some(value);
    }
    let value = number.as_f64()?;
    // 2^53: beyond it a float no longer names one integer.
    (value.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&value))
        .then_some(value as u64)
}

impl ManifestDocument {
    pub fn of(manifest: &Manifest) -> Self {
        ManifestDocument {
            schema_version: MANIFEST_SCHEMA_VERSION.to_owned(),
            name: manifest.name.clone(),
            root_digest: RootDigest {
                algorithm: "sha256".to_owned(),
                digest: hex::encode(manifest.root_digest()),
            },
            serialization: SerializationBlock::of(manifest),
            resources: resource_entries(manifest),
            summary: manifest.total_bytes().map(|bytes| ManifestSummary {
                files: manifest.file_count(),
                bytes,
            }),
        }
    }

    /// Reads a detached manifest back; its root digest must agree with its resources.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, Error> {
        let document: ManifestDocument = serde_json::from_slice(bytes)
            .map_err(|error| Error::BadManifest(format!("not a rampart manifest: {error}")))?;
        if document.schema_version != MANIFEST_SCHEMA_VERSION {
            return Err(Error::BadManifest(format!(
                "unsupported manifest schema_version `{}` (this rampart reads {MANIFEST_SCHEMA_VERSION})",
                document.schema_version
            )));
        }
        if document.root_digest.algorithm != "sha256" {
            return Err(Error::BadManifest(format!(
                "unsupported root digest algorithm `{}`",
                document.root_digest.algorithm
            )));
        }
        let manifest =
            manifest_from_parts(document.name, &document.serialization, document.resources)
                .map_err(Error::BadManifest)?;
        let computed = hex::encode(manifest.root_digest());
        if !computed.eq_ignore_ascii_case(&document.root_digest.digest) {
            return Err(Error::BadManifest(format!(
                "the manifest is inconsistent: its root digest is {} but its resources give {computed}",
                document.root_digest.digest
            )));
        }
        Ok(manifest)
    }
}

pub(crate) fn resource_entries(manifest: &Manifest) -> Vec<ResourceEntry> {
    manifest
        .resources
        .iter()
        .map(|resource| ResourceEntry {
            name: resource.key.name(),
            algorithm: resource.algorithm.clone(),
            digest: hex::encode(&resource.digest),
            size: resource.size,
        })
        .collect()
}

/// Rebuilds a manifest from its serialized parts, keeping the listed resource order (the root
/// digest is defined over it).
pub(crate) fn manifest_from_parts(
    name: String,
    block: &SerializationBlock,
    entries: Vec<ResourceEntry>,
) -> Result<Manifest, String> {
    let serialization = block.serialization()?;
    let sharded = matches!(serialization, Serialization::Shards { .. });
    let mut resources = Vec::with_capacity(entries.len());
    for entry in entries {
        let key = ResourceKey::parse(&entry.name, sharded)?;
        let digest = hex::decode(&entry.digest)
            .map_err(|_| format!("digest of `{}` is not hex", entry.name))?;
        resources.push(Resource {
            key,
            algorithm: entry.algorithm,
            digest,
            size: entry.size,
        });
    }
    let mut ignore_paths = block.ignore_paths.clone().unwrap_or_default();
    ignore_paths.sort();
    Ok(Manifest {
        name,
        serialization,
        allow_symlinks: block.allow_symlinks,
        ignore_paths,
        resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ResourceKey {
        ResourceKey::parse(name, name.contains(':')).unwrap()
    }

    #[test]
    fn order_is_by_components_then_numeric_offsets() {
        let mut keys: Vec<ResourceKey> = [
            "weights.txt",
            "weights-v2.txt",
            "weights/layer0/w.bin",
            "config.json",
            "README.md",
            ".hidden-config",
        ]
        .into_iter()
        .map(key)
        .collect();
        keys.sort();
        let names: Vec<String> = keys.iter().map(ResourceKey::name).collect();
        assert_eq!(
            names,
            [
                ".hidden-config",
                "README.md",
                "config.json",
                "weights/layer0/w.bin",
                "weights-v2.txt",
                "weights.txt"
            ]
        );
        let mut shards = [key("m:1048576:1310720"), key("m:262144:524288")];
        shards.sort();
        assert_eq!(shards[0].name(), "m:262144:524288");
    }

    #[test]
    fn shard_names_need_three_parts() {
        assert!(ResourceKey::parse("a:b:0:1", true).is_err());
        assert!(ResourceKey::parse("a:5:1", true).is_err());
        assert_eq!(
            ResourceKey::parse("a:0:1", true).unwrap().range,
            Some((0, 1))
        );
    }

    #[test]
    fn shard_size_accepts_integral_floats_only() {
        let block = |size: serde_json::Value| SerializationBlock {
            method: "shards".into(),
            hash_type: "sha256".into(),
            shard_size: serde_json::from_value(size).ok(),
            allow_symlinks: false,
            ignore_paths: None,
        };
        let expected = Serialization::Shards {
            hash: HashAlgorithm::Sha256,
            shard_size: 1_048_576,
        };
        assert_eq!(
            block(serde_json::json!(1048576)).serialization(),
            Ok(expected)
        );
        assert_eq!(
            block(serde_json::json!(1048576.0)).serialization(),
            Ok(expected)
        );
        assert!(block(serde_json::json!(1.5)).serialization().is_err());
        assert!(block(serde_json::json!(-4)).serialization().is_err());
        assert!(block(serde_json::json!(0)).serialization().is_err());
    }

    fn resource(name: &str, digest: u8) -> Resource {
        Resource {
            key: key(name),
            algorithm: "sha256".into(),
            digest: vec![digest; 32],
            size: Some(1),
        }
    }

    #[test]
    fn diff_names_each_kind_of_change() {
        let expected = [
            resource("a", 1),
            resource("b", 2),
            resource("c", 3),
            resource("d", 4),
        ];
        let actual = [
            resource("a", 1),
            resource("b", 9),
            resource("c2", 3),
            resource("e", 5),
        ];
        let diff = Diff::between(&expected, &actual);
        assert_eq!(diff.modified.len(), 1);
        assert_eq!(diff.modified[0].name, "b");
        assert_eq!(
            diff.renamed,
            [Renamed {
                from: "c".into(),
                to: "c2".into()
            }]
        );
        assert_eq!(diff.removed, ["d"]);
        assert_eq!(diff.added, ["e"]);
        assert!(Diff::between(&expected, &expected).is_empty());
    }

    #[test]
    fn algorithm_change_is_a_modification() {
        let mut other = resource("a", 1);
        other.algorithm = "blake3".into();
        let diff = Diff::between(&[resource("a", 1)], &[other]);
        assert_eq!(diff.modified.len(), 1);
    }
}
