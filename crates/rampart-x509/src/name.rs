//! Distinguished-name comparison for chaining a certificate to its issuer.
//!
//! Issuers do not always re-encode their own name byte for byte (a PrintableString
//! subject becomes a UTF8String issuer, or case differs). Like OpenSSL and RFC 5280
//! §7.1, string attribute values are compared after case folding and collapsing
//! insignificant spaces; anything else must be byte-identical. A match only nominates a
//! candidate issuer: its signature still has to verify.

use std::borrow::Cow;

use der::asn1::{Any, Ia5StringRef};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::name::DirectoryString;
use x509_cert::name::Name;

/// Whether `a` and `b` name the same entity.
pub(crate) fn names_match(a: &Name, b: &Name) -> bool {
    if a == b {
        return true;
    }
    a.len() == b.len()
        && a.iter_rdn().zip(b.iter_rdn()).all(|(left, right)| {
            left.len() == right.len()
                && left
                    .iter()
                    .zip(right.iter())
                    .all(|(x, y)| attributes_match(x, y))
        })
}

fn attributes_match(a: &AttributeTypeAndValue, b: &AttributeTypeAndValue) -> bool {
    if a.oid != b.oid {
        return false;
    }
    if a.value == b.value {
        return true;
    }
    match (text(&a.value), text(&b.value)) {
        (Some(left), Some(right)) => canonical(&left) == canonical(&right),
        _ => false,
    }
}

fn text(value: &Any) -> Option<Cow<'_, str>> {
    if let Ok(string) = DirectoryString::try_from(value) {
        return Some(Cow::Owned(string.value().into_owned()));
    }
    Ia5StringRef::try_from(value)
        .ok()
        .map(|string| Cow::Borrowed(string.as_str()))
}

/// Lower case, no leading or trailing spaces, inner runs of white space as one space.
fn canonical(value: &str) -> String {
    value
        .split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn name(text: &str) -> Name {
        Name::from_str(text).expect("valid RFC 4514 name")
    }

    #[test]
    fn equal_names_match_and_different_names_do_not() {
        assert!(names_match(&name("CN=a,O=b"), &name("CN=a,O=b")));
        assert!(!names_match(&name("CN=a,O=b"), &name("CN=a,O=c")));
        assert!(!names_match(&name("CN=a,O=b"), &name("CN=a")));
        assert!(!names_match(&name("CN=a"), &name("O=a")));
    }

    #[test]
    fn string_values_match_across_case_spacing_and_string_type() {
        assert!(names_match(
            &name("CN=Test  Root,O=Org"),
            &name("CN=test root,O=ORG")
        ));
        let printable = name("C=DE");
        let utf8 = name("CN=DE");
        assert!(
            !names_match(&printable, &utf8),
            "different attribute types never match"
        );
    }
}
