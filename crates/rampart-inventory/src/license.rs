//! Licenses as SBOMs want them: a valid SPDX expression where the metadata gives one (or a
//! name that maps to exactly one SPDX id), the name as written otherwise.

/// A license: `expression` when valid SPDX, else `name`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct License {
    pub expression: Option<String>,
    pub name: Option<String>,
}

/// Trove classifiers that name exactly one SPDX license. Ambiguous ones ("BSD License",
/// "Apache Software License" without a version) are kept as names.
const CLASSIFIERS: &[(&str, &str)] = &[
    ("MIT License", "MIT"),
    ("MIT No Attribution License (MIT-0)", "MIT-0"),
    ("ISC License (ISCL)", "ISC"),
    ("Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
    ("Python Software Foundation License", "PSF-2.0"),
    ("The Unlicense (Unlicense)", "Unlicense"),
    ("Zope Public License", "ZPL-2.1"),
    ("Boost Software License 1.0 (BSL-1.0)", "BSL-1.0"),
    ("Apache Software License 2.0", "Apache-2.0"),
    ("Eclipse Public License 2.0 (EPL-2.0)", "EPL-2.0"),
    ("GNU General Public License v2 (GPLv2)", "GPL-2.0-only"),
    ("GNU General Public License v3 (GPLv3)", "GPL-3.0-only"),
    (
        "GNU Lesser General Public License v3 (LGPLv3)",
        "LGPL-3.0-only",
    ),
    ("GNU Affero General Public License v3", "AGPL-3.0-only"),
];

/// Longer `License:` fields are license texts, not names.
const MAX_NAME_LEN: usize = 100;

/// A valid SPDX expression as written, or `None`.
pub(crate) fn spdx_expression(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_NAME_LEN * 4 {
        return None;
    }
    if spdx::Expression::parse(text).is_ok() {
        return Some(text.to_owned());
    }
    // Model cards write ids in lower case (`apache-2.0`, `mit`).
    if let Some(license) = spdx::identifiers::LICENSES
        .iter()
        .find(|l| l.name.eq_ignore_ascii_case(text))
    {
        return Some(license.name.to_owned());
    }
    // A common name for exactly one license ("Apache 2.0", "MIT License"), matched whole. A
    // name without a version never stands for a versioned id: "BSD" is not "BSD-2-Clause".
    match spdx::imprecise_license_id(text) {
        Some((id, matched))
            if matched == text.len()
                && (text.bytes().any(|b| b.is_ascii_digit())
                    || !id.name.bytes().any(|b| b.is_ascii_digit())) =>
        {
            Some(id.name.to_owned())
        }
        _ => None,
    }
}

/// Picks the license of an installed or locked package: `License-Expression` (PEP 639),
/// then `License`, then the license classifiers.
pub(crate) fn resolve(
    expression: Option<&str>,
    license: Option<&str>,
    classifiers: &[&str],
) -> License {
    if let Some(expression) = expression.map(str::trim).filter(|e| !e.is_empty()) {
        return match spdx_expression(expression) {
            Some(valid) => License {
                expression: Some(valid),
                name: None,
            },
            None => License {
                expression: None,
                name: Some(expression.to_owned()),
            },
        };
    }
    let short_license = license
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains('\n') && l.len() <= MAX_NAME_LEN)
        .filter(|l| !matches!(l.to_ascii_uppercase().as_str(), "UNKNOWN" | "NONE"));
    if let Some(expression) = short_license.and_then(spdx_expression) {
        return License {
            expression: Some(expression),
            name: None,
        };
    }
    let from_classifiers: Vec<&str> = classifiers
        .iter()
        .filter_map(|c| c.strip_prefix("License ::"))
        .filter_map(|c| c.rsplit("::").next().map(str::trim))
        .filter(|c| *c != "OSI Approved")
        .collect();
    let ids: Option<Vec<&str>> = from_classifiers
        .iter()
        .map(|c| CLASSIFIERS.iter().find(|(k, _)| k == c).map(|(_, id)| *id))
        .collect();
    match ids {
        Some(ids) if !ids.is_empty() => License {
            expression: Some(ids.join(" OR ")),
            name: None,
        },
        _ => License {
            expression: None,
            name: short_license
                .map(str::to_owned)
                .or_else(|| from_classifiers.first().map(|c| (*c).to_owned())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_best_source() {
        assert_eq!(
            resolve(Some("MIT OR Apache-2.0"), Some("whatever"), &[])
                .expression
                .as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            resolve(None, Some("Apache 2.0"), &[]).expression.as_deref(),
            Some("Apache-2.0")
        );
        assert_eq!(resolve(None, Some("Apache"), &[]).expression, None);
        assert_eq!(spdx_expression("apache-2.0").as_deref(), Some("Apache-2.0"));
        assert_eq!(spdx_expression("llama2"), None);
        assert_eq!(
            resolve(
                None,
                Some("BSD"),
                &["License :: OSI Approved :: BSD License"]
            ),
            License {
                expression: None,
                name: Some("BSD".into())
            }
        );
        assert_eq!(
            resolve(
                None,
                Some("UNKNOWN"),
                &["License :: OSI Approved :: MIT License"]
            )
            .expression
            .as_deref(),
            Some("MIT")
        );
        let long_text = format!(
            "Copyright (c) 2020\n{}",
            "Permission is hereby granted ".repeat(10)
        );
        assert_eq!(
            resolve(
                None,
                Some(&long_text),
                &["License :: OSI Approved :: BSD License"]
            )
            .name
            .as_deref(),
            Some("BSD License")
        );
        assert_eq!(
            resolve(Some("Not A License"), None, &[]).name.as_deref(),
            Some("Not A License")
        );
        assert_eq!(resolve(None, None, &[]), License::default());
    }
}
