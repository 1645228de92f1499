//! Container image references (`registry:5000/team/trainer:1.4@sha256:…`) and whether they
//! name one immutable image.

use rampart_core::{Finding, Location, Severity};

use crate::rules;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pinning<'a> {
    /// `@sha256:<64 hex>`: one exact image.
    Digest,
    /// A tag other than `latest`: whatever was pushed under it last.
    Tag(&'a str),
    Latest,
    /// No tag: means `latest`.
    Untagged,
    /// Built from variables or templates that cannot be resolved here.
    Unresolved,
}

pub(crate) fn pinning(reference: &str) -> Pinning<'_> {
    let reference = reference.trim();
    let reference = reference.strip_prefix("docker://").unwrap_or(reference);
    if reference.contains('$') || reference.contains("{{") || reference.is_empty() {
        return Pinning::Unresolved;
    }
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    if let Some((algorithm, hex)) = digest.and_then(|d| d.split_once(':')) {
        let expected = match algorithm {
            "sha256" => 64,
            "sha512" => 128,
            _ => 0,
        };
        if hex.len() == expected && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Pinning::Digest;
        }
    }
    // The tag follows the last `:` of the last path component (`host:5000/x` is a port).
    let last_component = name.rsplit('/').next().unwrap_or(name);
    match last_component.split_once(':') {
        Some((_, tag)) if tag.eq_ignore_ascii_case("latest") => Pinning::Latest,
        Some((_, tag)) if !tag.is_empty() => Pinning::Tag(tag),
        _ => Pinning::Untagged,
    }
}

/// Reports `reference` unless it is pinned by digest. `what` names the image's role in
/// the message ("container `trainer`", "base image of stage `build`"). Unresolved
/// references are left to the caller, which knows whether that is expected.
pub(crate) fn check(reference: &str, what: &str, location: Location, out: &mut Vec<Finding>) {
    let (severity, problem) = match pinning(reference) {
        Pinning::Digest | Pinning::Unresolved => return,
        Pinning::Latest => (
            Severity::Medium,
            "uses the `latest` tag, which moves with every push".to_owned(),
        ),
        Pinning::Untagged => (
            Severity::Medium,
            "has no tag, so it means `latest`, which moves with every push".to_owned(),
        ),
        Pinning::Tag(tag) => (
            Severity::Low,
            format!("uses the tag `{tag}` without a digest; tags can be re-pushed"),
        ),
    };
    let repository = reference.split('@').next().unwrap_or(reference);
    out.push(
        Finding::new(
            &rules::IMAGE_UNPINNED,
            location,
            format!(
                "The image of {what} (`{reference}`) {problem}: a rebuilt or compromised image \
                 reaches this deployment without any change here"
            ),
        )
        .with_severity(severity)
        .with_evidence(reference.to_owned())
        .with_fix(format!(
            "Pin the image by digest: `{repository}@sha256:<digest>` (get the digest with \
             `docker buildx imagetools inspect {repository}` or `crane digest {repository}`), \
             and let Renovate or Dependabot propose digest updates."
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_references() {
        let digest = format!("nvcr.io/nvidia/pytorch:24.01-py3@sha256:{}", "a".repeat(64));
        assert_eq!(pinning(&digest), Pinning::Digest);
        assert_eq!(pinning("pytorch/pytorch"), Pinning::Untagged);
        assert_eq!(pinning("localhost:5000/trainer"), Pinning::Untagged);
        assert_eq!(pinning("localhost:5000/trainer:LATEST"), Pinning::Latest);
        assert_eq!(pinning("python:3.12-slim"), Pinning::Tag("3.12-slim"));
        assert_eq!(pinning("docker://alpine:3.20"), Pinning::Tag("3.20"));
        assert_eq!(pinning("x@sha256:abc"), Pinning::Untagged);
        assert_eq!(pinning("${BASE_IMAGE}"), Pinning::Unresolved);
        assert_eq!(pinning("{{ .Values.image }}"), Pinning::Unresolved);
    }

    #[test]
    fn severity_depends_on_how_mutable_the_reference_is() {
        let mut out = Vec::new();
        check("busybox", "container `x`", Location::file("f"), &mut out);
        check(
            "busybox:1.36",
            "container `x`",
            Location::file("f"),
            &mut out,
        );
        let digest = format!("busybox@sha256:{}", "0".repeat(64));
        check(&digest, "container `x`", Location::file("f"), &mut out);
        let severities: Vec<Severity> = out.iter().map(|f| f.severity).collect();
        assert_eq!(severities, [Severity::Medium, Severity::Low]);
    }
}
