//! Container anomalies. A member that cannot be read at all (encrypted, unsupported
//! compression, truncated, over a limit) is reported with the shared `scan/*` rules, so the
//! file's verdict becomes incomplete; the rules here describe structure that loaders
//! accept but that lets different tools see different content.
//!
//! Severity: anomalies known to be used to slip content past scanners or to hit an
//! extractor (name and flag tricks, bad CRCs, hidden, overlapping or duplicate members,
//! path traversal) are high; disagreements that no known loader acts on differently are
//! medium; inert extra bytes are low.

use rampart_core::{Reference, Rule, Severity};

const EVASION_REFS: &[Reference] = &[
    Reference::Cwe(20),
    Reference::Atlas("AML.T0010.003"),
    Reference::Owasp("ML06:2023"),
];

pub static ZIP_NAME_MISMATCH: Rule = Rule {
    id: "zip/name-mismatch",
    scanner: "model",
    severity: Severity::High,
    title: "Zip local header names a different file than the central directory",
    description: "A member's name in its local file header differs from its name in the \
                  central directory. Python's zipfile refuses such members while PyTorch's \
                  miniz reads them by the central name, so scanners built on zipfile crashed \
                  and skipped the file (CVE-2025-1944). rampart scanned the content under \
                  the central directory's name.",
    remediation: "Do not load the file: no zip writer produces this. Re-export the model from \
                  its source.",
    references: &[
        Reference::Cwe(20),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
        Reference::Advisory("CVE-2025-1944"),
    ],
};

pub static ZIP_IGNORED_FLAG_BITS: Rule = Rule {
    id: "zip/ignored-flag-bits",
    scanner: "model",
    severity: Severity::High,
    title: "Zip member sets general-purpose flag bits its data does not honour",
    description: "A member sets general-purpose flag bits that are reserved, unused, or claim \
                  a property the data does not have (the encrypted bit on plaintext data). \
                  PyTorch ignores them and loads the member; scanners that honour them \
                  crashed or skipped it (CVE-2025-1945). rampart read the member as the \
                  loader does and scanned it.",
    remediation: "Do not load the file: benign writers never set these bits. Re-export the \
                  model from its source.",
    references: &[
        Reference::Cwe(20),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
        Reference::Advisory("CVE-2025-1945"),
    ],
};

pub static ZIP_CRC_MISMATCH: Rule = Rule {
    id: "zip/crc-mismatch",
    scanner: "model",
    severity: Severity::High,
    title: "Zip member content does not match its CRC-32",
    description: "The CRC-32 of a member's content differs from the one the central \
                  directory records. PyTorch does not check it and loads the member; scanners \
                  that verify it aborted and reported the file clean (CVE-2025-10156). It is \
                  also what a corrupted download looks like. rampart scanned the content \
                  anyway.",
    remediation: "Do not load the file. Download it again from its source and compare its \
                  hash with the published one.",
    references: &[
        Reference::Cwe(354),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
        Reference::Advisory("CVE-2025-10156"),
    ],
};

pub static ZIP_HIDDEN_MEMBER: Rule = Rule {
    id: "zip/hidden-member",
    scanner: "model",
    severity: Severity::High,
    title: "Zip holds a member the central directory does not list",
    description: "A local file header sits in the archive where no central directory entry \
                  points. Tools that read the central directory never see it; streaming \
                  extractors that walk local headers extract it. A payload can hide there \
                  from scanners. rampart scanned it too.",
    remediation: "Do not load or extract the file. Re-export the model from its source.",
    references: &[
        Reference::Cwe(506),
        Reference::Atlas("AML.T0018.002"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static ZIP_OVERLAPPING_MEMBERS: Rule = Rule {
    id: "zip/overlapping-members",
    scanner: "model",
    severity: Severity::High,
    title: "Zip members overlap each other or the central directory",
    description: "Two members' headers or data share bytes, or a member reaches into the \
                  central directory. This is how non-recursive zip bombs multiply a small \
                  kernel into terabytes, and how one archive shows different content to \
                  different tools.",
    remediation: "Reject the file: no zip writer produces overlapping members.",
    references: &[
        Reference::Cwe(409),
        Reference::Atlas("AML.T0029"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static ZIP_DUPLICATE_NAME: Rule = Rule {
    id: "zip/duplicate-name",
    scanner: "model",
    severity: Severity::High,
    title: "Zip lists two members with the same name",
    description: "The central directory lists a name more than once. Python's zipfile opens \
                  the last one, miniz's lookup may find another, and a scanner may check only \
                  one of them, so the member that is loaded need not be the one that was \
                  scanned. rampart scanned all of them.",
    remediation: "Do not load the file. Re-export the model so that each name appears once.",
    references: EVASION_REFS,
};

pub static ZIP_HEADER_MISMATCH: Rule = Rule {
    id: "zip/header-mismatch",
    scanner: "model",
    severity: Severity::Medium,
    title: "Zip headers disagree about a member",
    description: "The local file header, the data descriptor and the central directory \
                  disagree about a member's compression method, sizes, CRC or flags, or the \
                  data decompresses to another size than recorded. Loaders use the central \
                  directory, streaming tools the local header, so they may read different \
                  bytes. rampart read the member the way PyTorch and Python do.",
    remediation: "Do not load the file unless you can explain the damage. Re-export the \
                  model from its source.",
    references: EVASION_REFS,
};

pub static ZIP_PATH_TRAVERSAL: Rule = Rule {
    id: "zip/path-traversal",
    scanner: "model",
    severity: Severity::High,
    title: "Zip member path escapes the extraction directory",
    description: "A member name is absolute, starts with a drive letter, climbs out with \
                  `..`, or contains characters extractors interpret differently (a \
                  backslash, a NUL). Extracting the archive can overwrite files elsewhere on \
                  the system (zip slip).",
    remediation: "Do not extract the archive with a tool that does not sanitise paths. \
                  Re-export the model with plain relative member names.",
    references: &[
        Reference::Cwe(22),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static ZIP_ZIP64_INCONSISTENT: Rule = Rule {
    id: "zip/zip64-inconsistent",
    scanner: "model",
    severity: Severity::Medium,
    title: "Zip64 records are inconsistent",
    description: "The ZIP64 end of central directory record, its locator, a ZIP64 extra \
                  field, or the 32-bit fields they extend contradict each other. Python's \
                  zipfile and miniz resolve these differently, so they may see different \
                  archives.",
    remediation: "Re-create the archive with a standard zip writer; do not load it until \
                  then.",
    references: EVASION_REFS,
};

pub static ZIP_END_RECORD_MISMATCH: Rule = Rule {
    id: "zip/end-record-mismatch",
    scanner: "model",
    severity: Severity::Medium,
    title: "Zip end record does not describe the central directory",
    description: "The end of central directory record gives an entry count, size or disk \
                  number that does not match the central directory actually present. \
                  Python's zipfile walks the directory by size, miniz by count, so each may \
                  list different members.",
    remediation: "Re-create the archive with a standard zip writer; do not load it until \
                  then.",
    references: EVASION_REFS,
};

pub static ZIP_MISSING_CENTRAL_DIRECTORY: Rule = Rule {
    id: "zip/missing-central-directory",
    scanner: "model",
    severity: Severity::Medium,
    title: "Zip has no usable central directory",
    description: "The file starts like a zip but its central directory is missing or cannot \
                  be found where the end record says. Most loaders refuse it; streaming \
                  extractors still read the local headers. rampart walked the local headers \
                  and scanned what they describe.",
    remediation: "Treat the file as damaged or crafted. Re-download or re-export it.",
    references: EVASION_REFS,
};

pub static ZIP_TRAILING_DATA: Rule = Rule {
    id: "zip/trailing-data",
    scanner: "model",
    severity: Severity::Low,
    title: "Bytes after the end of the zip archive",
    description: "Bytes follow the end of central directory record and its comment. Zip \
                  readers ignore them, so they are inert for loaders, but they are a place to \
                  stash a second payload that a different tool may pick up.",
    remediation: "Check where the file came from; re-export it to drop the extra bytes.",
    references: &[Reference::Cwe(506), Reference::Atlas("AML.T0010.003")],
};

pub static TAR_BAD_CHECKSUM: Rule = Rule {
    id: "tar/bad-checksum",
    scanner: "model",
    severity: Severity::High,
    title: "Tar header checksum is wrong",
    description: "A tar header's checksum does not match its bytes. Python's tarfile stops \
                  reading the archive there, while GNU tar skips the block and extracts the \
                  members that follow, so a payload after a corrupted header is invisible to \
                  Python-based scanners. rampart resynchronised like GNU tar and scanned the \
                  rest.",
    remediation: "Do not extract or load the archive. Re-download or re-create it.",
    references: EVASION_REFS,
};

pub static TAR_PATH_TRAVERSAL: Rule = Rule {
    id: "tar/path-traversal",
    scanner: "model",
    severity: Severity::High,
    title: "Tar member path or link escapes the extraction directory",
    description: "A member name is absolute or climbs out with `..`, or a symbolic or hard \
                  link points outside the archive's directory. Extracting it (Python's \
                  tarfile before the 3.12 filters, many other tools) can overwrite files \
                  elsewhere (CVE-2007-4559).",
    remediation: "Do not extract the archive without a path filter \
                  (`tarfile.extractall(filter='data')`). Re-create it with relative paths.",
    references: &[
        Reference::Cwe(22),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
        Reference::Advisory("CVE-2007-4559"),
    ],
};

pub static TAR_DUPLICATE_NAME: Rule = Rule {
    id: "tar/duplicate-name",
    scanner: "model",
    severity: Severity::Medium,
    title: "Tar holds two members with the same name",
    description: "A file name appears more than once. Extraction and Python's \
                  `getmember` keep the last one, so a scanner that checks the first copy \
                  checks the wrong content. rampart scanned every copy.",
    remediation: "Re-create the archive so that each name appears once.",
    references: EVASION_REFS,
};

pub static TAR_DATA_AFTER_END: Rule = Rule {
    id: "tar/data-after-end",
    scanner: "model",
    severity: Severity::Medium,
    title: "Tar members after the end-of-archive marker",
    description: "Valid tar headers follow the zero blocks that end the archive. Python's \
                  tarfile and GNU tar stop at the marker; `tar --ignore-zeros` and \
                  concatenating tools read on. rampart scanned those members too.",
    remediation: "Check where the file came from; re-create the archive as a single tar.",
    references: &[Reference::Cwe(506), Reference::Atlas("AML.T0010.003")],
};

/// Every rule this crate reports, for `rampart rules`.
pub static RULES: &[&Rule] = &[
    &ZIP_NAME_MISMATCH,
    &ZIP_IGNORED_FLAG_BITS,
    &ZIP_CRC_MISMATCH,
    &ZIP_HIDDEN_MEMBER,
    &ZIP_OVERLAPPING_MEMBERS,
    &ZIP_DUPLICATE_NAME,
    &ZIP_HEADER_MISMATCH,
    &ZIP_PATH_TRAVERSAL,
    &ZIP_ZIP64_INCONSISTENT,
    &ZIP_END_RECORD_MISMATCH,
    &ZIP_MISSING_CENTRAL_DIRECTORY,
    &ZIP_TRAILING_DATA,
    &TAR_BAD_CHECKSUM,
    &TAR_PATH_TRAVERSAL,
    &TAR_DUPLICATE_NAME,
    &TAR_DATA_AFTER_END,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_namespaced_and_documented() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        for rule in RULES {
            assert!(
                rule.id.starts_with("zip/") || rule.id.starts_with("tar/"),
                "{}",
                rule.id
            );
            assert_eq!(rule.id, rule.id.to_ascii_lowercase());
            assert!(!rule.title.is_empty() && !rule.description.is_empty());
            assert!(!rule.remediation.is_empty() && !rule.references.is_empty());
        }
    }
}
