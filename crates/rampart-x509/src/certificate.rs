//! One parsed certificate: its DER bytes, the fields path validation reads, and the
//! identities it names. Every extension the validator relies on is decoded here, once, so
//! that a certificate either parses completely or is refused as malformed.

use std::fmt;
use std::ops::Range;
use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc4519, rfc5280};
use der::{Decode, Encode, Header, Reader, SliceReader};
use sha2::{Digest, Sha256};
use x509_cert::ext::pkix::name::{DirectoryString, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName,
    SubjectKeyIdentifier,
};

use crate::pem;

/// Why bytes could not be read as certificates.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The DER structure of a certificate is broken (the message names the DER position).
    #[error("malformed certificate: {0}")]
    Malformed(der::Error),
    /// An extension this validator reads could not be decoded.
    #[error("malformed certificate: its {extension} extension cannot be decoded: {source}")]
    MalformedExtension {
        /// The extension's name.
        extension: &'static str,
        /// The decoding error.
        source: der::Error,
    },
    /// RFC 5280 allows each extension at most once; a second copy could say something else.
    #[error("malformed certificate: the extension {oid} appears more than once")]
    DuplicateExtension {
        /// The repeated extension (name and OID).
        oid: String,
    },
    /// The signature algorithm inside the signed part differs from the one outside it.
    #[error(
        "malformed certificate: the signed algorithm {signed} differs from the outer signature algorithm {outer}"
    )]
    AlgorithmMismatch {
        /// `tbsCertificate.signature`.
        signed: String,
        /// `signatureAlgorithm`.
        outer: String,
    },
    /// A `BEGIN CERTIFICATE` block that is not valid PEM.
    #[error("PEM certificate block {index} (line {line}): {reason}")]
    Pem {
        /// 1-based position of the block in the file.
        index: usize,
        /// 1-based line of its `BEGIN` marker.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A certificate inside a PEM block is malformed.
    #[error("PEM certificate block {index} (line {line}): {source}")]
    PemCertificate {
        /// 1-based position of the block in the file.
        index: usize,
        /// 1-based line of its `BEGIN` marker.
        line: usize,
        /// The certificate error.
        source: Box<Error>,
    },
    /// Neither PEM certificate blocks nor a DER certificate.
    #[error(
        "no certificate found: expected PEM `-----BEGIN CERTIFICATE-----` blocks or one DER certificate"
    )]
    NotCertificate,
    /// More certificates than anyone puts in a chain or anchor file.
    #[error("more than {max} certificates in one input")]
    TooManyCertificates {
        /// The cap.
        max: usize,
    },
}

/// A name a certificate binds its key to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// subjectAltName rfc822Name.
    Email(String),
    /// subjectAltName uniformResourceIdentifier.
    Uri(String),
    /// subjectAltName dNSName.
    Dns(String),
    /// A commonName attribute of the subject.
    CommonName(String),
}

impl Identity {
    /// The identity's value, as written in the certificate.
    pub fn value(&self) -> &str {
        match self {
            Identity::Email(value)
            | Identity::Uri(value)
            | Identity::Dns(value)
            | Identity::CommonName(value) => value,
        }
    }

    /// What kind of name it is: `email`, `uri`, `dns` or `cn`.
    pub fn kind(&self) -> &'static str {
        match self {
            Identity::Email(_) => "email",
            Identity::Uri(_) => "uri",
            Identity::Dns(_) => "dns",
            Identity::CommonName(_) => "cn",
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.value())
    }
}

/// Critical extensions whose meaning this validator enforces (or, for certificatePolicies,
/// may ignore because no policy is ever required). Any other critical extension makes a
/// path invalid: RFC 5280 §4.2 forbids using a certificate whose critical extension is not
/// understood. nameConstraints and the policy constraint extensions are deliberately absent.
const UNDERSTOOD_CRITICAL: [ObjectIdentifier; 7] = [
    rfc5280::ID_CE_BASIC_CONSTRAINTS,
    rfc5280::ID_CE_KEY_USAGE,
    rfc5280::ID_CE_EXT_KEY_USAGE,
    rfc5280::ID_CE_SUBJECT_ALT_NAME,
    rfc5280::ID_CE_CERTIFICATE_POLICIES,
    rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
    rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
];

/// The extensions path validation reads, decoded.
#[derive(Clone, Debug, Default)]
pub(crate) struct Extensions {
    pub basic_constraints: Option<BasicConstraints>,
    pub key_usage: Option<KeyUsage>,
    pub extended_key_usage: Option<Vec<ObjectIdentifier>>,
    pub subject_key_id: Option<Vec<u8>>,
    pub authority_key_id: Option<Vec<u8>>,
    pub authority_serial: Option<Vec<u8>>,
    pub subject_alt_names: Vec<Identity>,
    pub unknown_critical: Option<ObjectIdentifier>,
}

/// A parsed X.509 certificate together with its exact DER bytes.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    parsed: x509_cert::Certificate,
    tbs: Range<usize>,
    extensions: Extensions,
    spki_der: Vec<u8>,
}

impl Certificate {
    /// Parses one DER certificate; the whole input must be that certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let parsed = x509_cert::Certificate::from_der(der).map_err(Error::Malformed)?;
        let tbs = signed_range(der).map_err(Error::Malformed)?;
        let signed_algorithm = parsed.tbs_certificate().signature();
        if signed_algorithm != parsed.signature_algorithm() {
            return Err(Error::AlgorithmMismatch {
                signed: describe_oid(&signed_algorithm.oid),
                outer: describe_oid(&parsed.signature_algorithm().oid),
            });
        }
        let extensions = read_extensions(&parsed)?;
        let spki_der = parsed
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(Error::Malformed)?;
        Ok(Certificate {
            der: der.to_vec(),
            parsed,
            tbs,
            extensions,
            spki_der,
        })
    }

    /// The certificate's DER encoding, exactly as it was given.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject name as an RFC 4514 string (`CN=...,O=...`).
    pub fn subject(&self) -> String {
        self.parsed.tbs_certificate().subject().to_string()
    }

    /// The issuer name as an RFC 4514 string.
    pub fn issuer(&self) -> String {
        self.parsed.tbs_certificate().issuer().to_string()
    }

    /// The serial number in lower-case hex, without the sign byte DER may add.
    pub fn serial_hex(&self) -> String {
        hex::encode(strip_leading_zeros(self.serial()))
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> SystemTime {
        self.parsed
            .tbs_certificate()
            .validity()
            .not_before
            .to_system_time()
    }

    /// End of the validity period.
    pub fn not_after(&self) -> SystemTime {
        self.parsed
            .tbs_certificate()
            .validity()
            .not_after
            .to_system_time()
    }

    /// The names the certificate is issued to: subjectAltName e-mail, URI and DNS entries
    /// in their order in the certificate, then the subject's commonName(s).
    pub fn identities(&self) -> Vec<Identity> {
        let common_names = self
            .parsed
            .tbs_certificate()
            .subject()
            .iter()
            .filter(|attribute| attribute.oid == rfc4519::COMMON_NAME)
            .filter_map(|attribute| DirectoryString::try_from(&attribute.value).ok())
            .map(|name| Identity::CommonName(name.value().into_owned()));
        self.extensions
            .subject_alt_names
            .iter()
            .cloned()
            .chain(common_names)
            .collect()
    }

    /// The DER SubjectPublicKeyInfo, for verifying what the certificate's key signed.
    pub fn public_key_spki_der(&self) -> Vec<u8> {
        self.spki_der.clone()
    }

    /// SHA-256 of the DER certificate, lower-case hex.
    pub fn sha256_fingerprint(&self) -> String {
        hex::encode(Sha256::digest(&self.der))
    }

    pub(crate) fn parsed(&self) -> &x509_cert::Certificate {
        &self.parsed
    }

    pub(crate) fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The bytes the issuer signed (`tbsCertificate`, as encoded in the input).
    pub(crate) fn signed_bytes(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    pub(crate) fn serial(&self) -> &[u8] {
        self.parsed.tbs_certificate().serial_number().as_bytes()
    }

    /// Subject and issuer names are equal (RFC 5280 "self-issued").
    pub(crate) fn is_self_issued(&self) -> bool {
        let tbs = self.parsed.tbs_certificate();
        crate::name::names_match(tbs.subject(), tbs.issuer())
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("issuer", &self.issuer())
            .field("serial", &self.serial_hex())
            .field("sha256", &self.sha256_fingerprint())
            .finish()
    }
}

/// At most this many certificates are read from one input.
pub const MAX_CERTIFICATES_PER_INPUT: usize = 1000;

/// Every certificate in `bytes`: each `-----BEGIN CERTIFICATE-----` block of a PEM file
/// (other blocks and any text around them are ignored), or, for input that holds no such
/// block, one DER certificate.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, Error> {
    let blocks = pem::certificate_blocks(bytes);
    if blocks.is_empty() {
        if bytes.first() == Some(&0x30) {
            return Ok(vec![Certificate::from_der(bytes)?]);
        }
        return Err(Error::NotCertificate);
    }
    if blocks.len() > MAX_CERTIFICATES_PER_INPUT {
        return Err(Error::TooManyCertificates {
            max: MAX_CERTIFICATES_PER_INPUT,
        });
    }
    let mut certificates = Vec::with_capacity(blocks.len());
    for (position, block) in blocks.into_iter().enumerate() {
        let index = position.saturating_add(1);
        let line = block.line;
        let der = block.decode().map_err(|reason| Error::Pem {
            index,
            line,
            reason,
        })?;
        let certificate = Certificate::from_der(&der).map_err(|source| Error::PemCertificate {
            index,
            line,
            source: Box::new(source),
        })?;
        certificates.push(certificate);
    }
    Ok(certificates)
}

/// Where `tbsCertificate` lies in `der`: the first element inside the outer SEQUENCE.
fn signed_range(der: &[u8]) -> der::Result<Range<usize>> {
    let mut reader = SliceReader::new(der)?;
    Header::decode(&mut reader)?;
    let start = usize::try_from(reader.position())?;
    let length = reader.tlv_bytes()?.len();
    let end = start
        .checked_add(length)
        .ok_or_else(|| der::Error::from(der::ErrorKind::Overflow))?;
    Ok(start..end)
}

fn read_extensions(certificate: &x509_cert::Certificate) -> Result<Extensions, Error> {
    let mut found = Extensions::default();
    let all = certificate
        .tbs_certificate()
        .extensions()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (index, extension) in all.iter().enumerate() {
        let repeated = all
            .get(..index)
            .unwrap_or_default()
            .iter()
            .any(|earlier| earlier.extn_id == extension.extn_id);
        if repeated {
            return Err(Error::DuplicateExtension {
                oid: describe_oid(&extension.extn_id),
            });
        }
        let value = extension.extn_value.as_bytes();
        match extension.extn_id {
            rfc5280::ID_CE_BASIC_CONSTRAINTS => {
                found.basic_constraints = Some(decode("basicConstraints", value)?);
            }
            rfc5280::ID_CE_KEY_USAGE => {
                found.key_usage = Some(decode("keyUsage", value)?);
            }
            rfc5280::ID_CE_EXT_KEY_USAGE => {
                let usage: ExtendedKeyUsage = decode("extKeyUsage", value)?;
                found.extended_key_usage = Some(usage.0);
            }
            rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER => {
                let id: SubjectKeyIdentifier = decode("subjectKeyIdentifier", value)?;
                found.subject_key_id = Some(id.0.as_bytes().to_vec());
            }
            rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                let id: AuthorityKeyIdentifier = decode("authorityKeyIdentifier", value)?;
                found.authority_key_id = id.key_identifier.map(|key| key.as_bytes().to_vec());
                found.authority_serial = id
                    .authority_cert_serial_number
                    .map(|serial| serial.as_bytes().to_vec());
            }
            rfc5280::ID_CE_SUBJECT_ALT_NAME => {
                let names: SubjectAltName = decode("subjectAltName", value)?;
                found.subject_alt_names = names.0.iter().filter_map(identity).collect();
            }
            _ => {}
        }
        if extension.critical
            && found.unknown_critical.is_none()
            && !UNDERSTOOD_CRITICAL.contains(&extension.extn_id)
        {
            found.unknown_critical = Some(extension.extn_id);
        }
    }
    Ok(found)
}

fn decode<'a, T: Decode<'a, Error = der::Error>>(
    extension: &'static str,
    value: &'a [u8],
) -> Result<T, Error> {
    T::from_der(value).map_err(|source| Error::MalformedExtension { extension, source })
}

fn identity(name: &GeneralName) -> Option<Identity> {
    match name {
        GeneralName::Rfc822Name(value) => Some(Identity::Email(value.to_string())),
        GeneralName::UniformResourceIdentifier(value) => Some(Identity::Uri(value.to_string())),
        GeneralName::DnsName(value) => Some(Identity::Dns(value.to_string())),
        _ => None,
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&byte| byte != 0) {
        Some(first) => bytes.get(first..).unwrap_or(bytes),
        None => bytes.get(bytes.len().saturating_sub(1)..).unwrap_or(bytes),
    }
}

/// `name (dotted)` when the OID is known, else the dotted form.
pub(crate) fn describe_oid(oid: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/model-signing/pki/leaf.pem"
    );

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn one(bytes: &[u8]) -> Certificate {
        let mut certificates = parse_certificates(bytes).expect("parses");
        assert_eq!(certificates.len(), 1);
        certificates.remove(0)
    }

    #[test]
    fn reads_the_fields_of_the_fixture_leaf() {
        let leaf = one(&std::fs::read(LEAF).expect("fixture"));
        assert_eq!(
            leaf.subject(),
            "CN=rampart test model signer,O=rampart test PKI"
        );
        assert_eq!(
            leaf.issuer(),
            "CN=rampart test intermediate CA,O=rampart test PKI"
        );
        let year_2025 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_735_689_600);
        let year_2035 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_051_222_400);
        assert_eq!(leaf.not_before(), year_2025);
        assert_eq!(leaf.not_after(), year_2035);
        assert_eq!(
            leaf.identities(),
            vec![Identity::CommonName("rampart test model signer".to_owned())]
        );
        assert_eq!(
            leaf.sha256_fingerprint(),
            hex::encode(Sha256::digest(leaf.der()))
        );
        assert!(!leaf.serial_hex().is_empty() && !leaf.serial_hex().starts_with("00"));
        let spki_der = leaf.public_key_spki_der();
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&spki_der)
            .expect("the key is a DER SubjectPublicKeyInfo");
        assert_eq!(spki.algorithm.oid, const_oid::db::rfc5912::ID_EC_PUBLIC_KEY);
    }

    #[test]
    fn lists_san_identities_in_order_then_the_common_name() {
        let leaf = one(&fixture("leaf-san.pem"));
        assert_eq!(
            leaf.identities(),
            vec![
                Identity::Email("signer@example.com".to_owned()),
                Identity::Uri("https://example.com/signer".to_owned()),
                Identity::Dns("signer.example.com".to_owned()),
                Identity::CommonName("san signer".to_owned()),
            ]
        );
        assert_eq!(Identity::Email("a@b".to_owned()).to_string(), "a@b");
        assert_eq!(Identity::Dns("x".to_owned()).kind(), "dns");
    }

    #[test]
    fn reads_every_block_of_a_pem_file_and_one_der() {
        let chain = parse_certificates(&fixture("long-chain-cas.pem")).expect("parses");
        assert_eq!(chain.len(), 8);
        assert_eq!(
            chain.first().map(Certificate::subject).as_deref(),
            Some("CN=chain ca 8,O=rampart x509 tests")
        );
        let der = chain
            .first()
            .map(|certificate| certificate.der().to_vec())
            .unwrap_or_default();
        let again = parse_certificates(&der).expect("DER parses");
        assert_eq!(again.first(), chain.first());
    }

    #[test]
    fn rejects_what_is_not_a_certificate() {
        assert!(matches!(
            parse_certificates(b""),
            Err(Error::NotCertificate)
        ));
        assert!(matches!(
            parse_certificates(b"hello"),
            Err(Error::NotCertificate)
        ));
        assert!(matches!(
            parse_certificates(&[0x30, 0x03, 0x02, 0x01, 0x00]),
            Err(Error::Malformed(_))
        ));
        let leaf = one(&std::fs::read(LEAF).expect("fixture"));
        let mut trailing = leaf.der().to_vec();
        trailing.push(0);
        assert!(matches!(
            Certificate::from_der(&trailing),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn a_broken_pem_block_is_named_by_position() {
        let mut text = fixture("root.pem");
        text.extend_from_slice(
            b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        );
        let error = parse_certificates(&text).expect_err("second block is broken");
        assert!(matches!(error, Error::Pem { index: 2, .. }), "{error}");
    }

    #[test]
    fn duplicate_extensions_are_malformed() {
        let error =
            parse_certificates(&fixture("leaf-duplicate-extension.pem")).expect_err("refused");
        assert!(
            matches!(&error, Error::PemCertificate { source, .. } if matches!(**source, Error::DuplicateExtension { .. })),
            "{error}"
        );
    }

    #[test]
    fn unknown_critical_extensions_are_recorded_and_known_ones_are_not() {
        let critical = one(&fixture("leaf-unknown-critical.pem"));
        assert_eq!(
            critical
                .extensions()
                .unknown_critical
                .map(|oid| oid.to_string())
                .as_deref(),
            Some("1.3.6.1.4.1.55555.1")
        );
        let benign = one(&fixture("leaf-unknown-noncritical.pem"));
        assert_eq!(benign.extensions().unknown_critical, None);
        let leaf = one(&std::fs::read(LEAF).expect("fixture"));
        assert_eq!(leaf.extensions().unknown_critical, None);
    }

    #[test]
    fn serial_hex_drops_only_sign_bytes() {
        assert_eq!(strip_leading_zeros(&[0, 0x80, 0]), &[0x80, 0]);
        assert_eq!(strip_leading_zeros(&[0]), &[0]);
        assert_eq!(strip_leading_zeros(&[]), &[] as &[u8]);
    }
}
