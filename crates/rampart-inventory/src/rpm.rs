//! rpm's package database: `rpmdb.sqlite` (rpm ≥ 4.16), a table `Packages(hnum, blob)`,
//! the BerkeleyDB `Packages` of older rpm ([`bdb`]) or the NDB `Packages.db` ([`ndb`]); all
//! hold one rpm header per installed package, without its 8-byte magic, read here by one
//! path from blob to package. A header is `il` (big-endian u32, the number of index entries),
//! `dl` (big-endian u32, the size of the data store), `il` index entries of 16 bytes (tag,
//! type, offset into the store, count) and the `dl`-byte store. Only the tags an inventory
//! needs are read; every count and offset is checked against the blob before it is used. The
//! SQLite database is opened read-only from a private temporary copy, so the image is never
//! touched and SQLite never writes beside it.

mod bdb;
mod ndb;

use std::borrow::Cow;
use std::io::Write;

use rampart_core::Location;
use rusqlite::{Connection, OpenFlags};

use crate::inventory::{Distro, Ecosystem, Package, SourceFormat};
use crate::os::fallback_distro;
use crate::problem::{Problem, ProblemKind};

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_SUMMARY: u32 = 1004;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_URL: u32 = 1020;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

const PREAMBLE_LEN: usize = 8;
const INDEX_ENTRY_LEN: usize = 16;

/// Why a header blob could not be read; offsets are into the blob.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the header is {0} bytes, shorter than its 8-byte preamble")]
    TooShort(usize),
    #[error(
        "the header declares {entries} index entries and {data} data bytes, more than its {len} bytes hold"
    )]
    Overrun { entries: u32, data: u32, len: usize },
    #[error(
        "index entry {entry} (tag {tag}) points at offset {offset}, outside the {data}-byte data store"
    )]
    OffsetOutOfRange {
        entry: usize,
        tag: u32,
        offset: u32,
        data: usize,
    },
    #[error("index entry {entry} (tag {tag}) has type {kind}, not the type that tag must have")]
    WrongType { entry: usize, tag: u32, kind: u32 },
    #[error("the string of index entry {entry} (tag {tag}) has no terminating NUL")]
    Unterminated { entry: usize, tag: u32 },
    #[error("the header has no {0} tag")]
    Missing(&'static str),
}

/// What one installed package's header says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpmHeader {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: Option<String>,
    pub license: Option<String>,
    pub vendor: Option<String>,
    pub summary: Option<String>,
    pub url: Option<String>,
    /// `openssl-3.0.7-27.el9.src.rpm`.
    pub source_rpm: Option<String>,
}

impl RpmHeader {
    /// `[epoch:]version-release`, as `rpm -q --qf '%{EVR}'` prints it and RPM-based OSV
    /// advisories name versions.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(epoch) if epoch != 0 => format!("{epoch}:{}-{}", self.version, self.release),
            _ => format!("{}-{}", self.version, self.release),
        }
    }

    /// The source package's name and `version-release`, from `name-version-release.src.rpm`
    /// (a name may contain `-`; version and release may not).
    pub fn source_package(&self) -> Option<(String, String)> {
        let stem = self.source_rpm.as_deref()?.strip_suffix(".rpm")?;
        let stem = stem
            .strip_suffix(".src")
            .or_else(|| stem.strip_suffix(".nosrc"))?;
        let (rest, release) = stem.rsplit_once('-')?;
        let (name, version) = rest.rsplit_once('-')?;
        (!name.is_empty() && !version.is_empty() && !release.is_empty())
            .then(|| (name.to_owned(), format!("{version}-{release}")))
    }
}

/// One index entry, checked to lie in the blob.
struct Entry {
    tag: u32,
    kind: u32,
    offset: usize,
    count: u32,
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let word: [u8; 4] = bytes.get(at..end)?.try_into().ok()?;
    Some(u32::from_be_bytes(word))
}

/// Reads a header blob as `rpmdb.sqlite` stores it (no magic).
pub fn parse_header(blob: &[u8]) -> Result<RpmHeader, HeaderError> {
    let (Some(entries), Some(data_len)) = (be_u32(blob, 0), be_u32(blob, 4)) else {
        return Err(HeaderError::TooShort(blob.len()));
    };
    let overrun = HeaderError::Overrun {
        entries,
        data: data_len,
        len: blob.len(),
    };
    let index_len = usize::try_from(entries)
        .ok()
        .and_then(|n| n.checked_mul(INDEX_ENTRY_LEN))
        .ok_or_else(|| overrun.clone())?;
    let store_start = PREAMBLE_LEN
        .checked_add(index_len)
        .ok_or_else(|| overrun.clone())?;
    let store_end = usize::try_from(data_len)
        .ok()
        .and_then(|n| store_start.checked_add(n))
        .filter(|&end| end <= blob.len())
        .ok_or_else(|| overrun.clone())?;
    let store = blob.get(store_start..store_end).ok_or(overrun)?;
    let index = blob.get(PREAMBLE_LEN..store_start).unwrap_or_default();
    let mut header = RpmHeader::default();
    let (mut name, mut version, mut release) = (None, None, None);
    for (number, raw) in index.chunks_exact(INDEX_ENTRY_LEN).enumerate() {
        let field = |at| be_u32(raw, at).unwrap_or_default();
        let (tag, kind, offset, count) = (field(0), field(4), field(8), field(12));
        let slot = match tag {
            TAG_NAME => &mut name,
            TAG_VERSION => &mut version,
            TAG_RELEASE => &mut release,
            TAG_ARCH => &mut header.arch,
            TAG_LICENSE => &mut header.license,
            TAG_VENDOR => &mut header.vendor,
            TAG_SUMMARY => &mut header.summary,
            TAG_URL => &mut header.url,
            TAG_SOURCERPM => &mut header.source_rpm,
            TAG_EPOCH => {
                let entry = checked_entry(number, tag, kind, offset, count, store)?;
                header.epoch = Some(read_int32(&entry, number, store)?);
                continue;
            }
            _ => continue,
        };
        let entry = checked_entry(number, tag, kind, offset, count, store)?;
        *slot = Some(read_string(&entry, number, store)?);
    }
    header.name = name.ok_or(HeaderError::Missing("NAME"))?;
    header.version = version.ok_or(HeaderError::Missing("VERSION"))?;
    header.release = release.ok_or(HeaderError::Missing("RELEASE"))?;
    Ok(header)
}

fn checked_entry(
    number: usize,
    tag: u32,
    kind: u32,
    offset: u32,
    count: u32,
    store: &[u8],
) -> Result<Entry, HeaderError> {
    usize::try_from(offset)
        .ok()
        .filter(|&at| at < store.len())
        .map(|offset| Entry {
            tag,
            kind,
            offset,
            count,
        })
        .ok_or(HeaderError::OffsetOutOfRange {
            entry: number,
            tag,
            offset,
            data: store.len(),
        })
}

/// The first string of a STRING, STRING_ARRAY or I18NSTRING entry.
fn read_string(entry: &Entry, number: usize, store: &[u8]) -> Result<String, HeaderError> {
    if !matches!(
        entry.kind,
        TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING
    ) || entry.count == 0
    {
        return Err(HeaderError::WrongType {
            entry: number,
            tag: entry.tag,
            kind: entry.kind,
        });
    }
    let rest = store.get(entry.offset..).unwrap_or_default();
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(HeaderError::Unterminated {
            entry: number,
            tag: entry.tag,
        })?;
    Ok(String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned())
}

fn read_int32(entry: &Entry, number: usize, store: &[u8]) -> Result<u32, HeaderError> {
    if entry.kind != TYPE_INT32 || entry.count == 0 {
        return Err(HeaderError::WrongType {
            entry: number,
            tag: entry.tag,
            kind: entry.kind,
        });
    }
    be_u32(store, entry.offset).ok_or(HeaderError::OffsetOutOfRange {
        entry: number,
        tag: entry.tag,
        offset: u32::try_from(entry.offset).unwrap_or(u32::MAX),
        data: store.len(),
    })
}

/// A package's instance number (`hnum`, the BerkeleyDB key) and its header blob.
type Row<'a> = (i64, Cow<'a, [u8]>);

/// Why a BerkeleyDB or NDB database could not be read (further); `offset` is into the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (at offset {offset})")]
pub(crate) struct Damage {
    pub offset: u64,
    pub problem: String,
}

fn damage(offset: usize, problem: impl Into<String>) -> Damage {
    Damage {
        offset: offset as u64,
        problem: problem.into(),
    }
}

/// The on-disk formats of rpm's package database this module reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RpmDbFormat {
    /// `rpmdb.sqlite`.
    Sqlite,
    /// BerkeleyDB hash `Packages`.
    BerkeleyDb,
    /// NDB `Packages.db`.
    Ndb,
}

impl RpmDbFormat {
    pub(crate) fn source_format(self) -> SourceFormat {
        match self {
            RpmDbFormat::Sqlite => SourceFormat::RpmDb,
            RpmDbFormat::BerkeleyDb => SourceFormat::RpmBerkeleyDb,
            RpmDbFormat::Ndb => SourceFormat::RpmNdb,
        }
    }
}

/// The installed packages of an rpm database file's bytes. A database that cannot be read is
/// one problem naming the file (and the offset of the damage where the format has one); the
/// packages read before the damage are kept. A header that cannot be read is one problem
/// naming its package instance, and the others are still read.
pub(crate) fn parse_rpmdb(
    bytes: &[u8],
    format: RpmDbFormat,
    location: &Location,
    distro: Option<&Distro>,
    max_entries: u64,
    problems: &mut Vec<Problem>,
) -> Vec<Package> {
    let max_rows = usize::try_from(max_entries).unwrap_or(usize::MAX);
    let (rows, damage) = match format {
        RpmDbFormat::Sqlite => match read_rows(bytes, max_entries) {
            Ok(rows) => (rows, None),
            Err(error) => (Vec::new(), Some((location.clone(), error))),
        },
        RpmDbFormat::BerkeleyDb | RpmDbFormat::Ndb => {
            let (rows, damage) = if format == RpmDbFormat::Ndb {
                ndb::read_packages(bytes, max_rows)
            } else {
                bdb::read_packages(bytes, max_rows)
            };
            (
                rows,
                damage.map(|error| (location.at(error.offset), error.to_string())),
            )
        }
    };
    if let Some((at, error)) = damage {
        let consequence = if rows.is_empty() {
            "this image's RPM packages are missing from the inventory and were not audited"
        } else {
            "the packages after the damage are missing from the inventory and were not audited"
        };
        problems.push(Problem::new(
            ProblemKind::Malformed,
            at,
            format!("the rpm database could not be read ({error}); {consequence}"),
        ));
    }
    if rows.len() as u64 > max_entries {
        problems.push(Problem::new(
            ProblemKind::LimitExceeded,
            location.clone(),
            format!(
                "the rpm database has more than max_metadata_entries ({max_entries}) packages; \
                 the rest were not inventoried"
            ),
        ));
    }
    let fallback = fallback_distro(Ecosystem::Rpm);
    let distro = distro.unwrap_or(&fallback);
    let mut packages = Vec::new();
    for (hnum, blob) in rows
        .iter()
        .take(usize::try_from(max_entries).unwrap_or(usize::MAX))
    {
        let here = location.member(format!("Packages/{hnum}"));
        let header = match parse_header(blob) {
            Ok(header) => header,
            Err(error) => {
                problems.push(Problem::new(
                    ProblemKind::Malformed,
                    here,
                    format!("rpm header of package row {hnum}: {error}; it was not inventoried"),
                ));
                continue;
            }
        };
        // Public keys imported into the database, not software.
        if header.name == "gpg-pubkey" {
            continue;
        }
        packages.push(package_of(&header, format.source_format(), distro, here));
    }
    packages
}

fn package_of(
    header: &RpmHeader,
    source: SourceFormat,
    distro: &Distro,
    location: Location,
) -> Package {
    let mut package = Package::named(&header.name, source, location);
    // rpm names are case-sensitive; PEP 503 normalisation would merge `-`/`.`/`_`.
    package.normalized_name = header.name.clone();
    package.ecosystem = Ecosystem::Rpm;
    let evr = header.evr();
    package.summary = header.summary.clone();
    package.homepage = header.url.clone();
    package.license_name = header.license.clone();
    let mut os = distro.os_package(Ecosystem::Rpm);
    os.arch = header.arch.clone();
    match header.source_package() {
        Some((source, source_version)) => {
            os.source_name = Some(source);
            let binary = format!("{}-{}", header.version, header.release);
            if source_version != binary {
                // The source rpm is built with the binary's epoch.
                let epoch = evr.strip_suffix(&binary).unwrap_or_default();
                os.source_version = Some(format!("{epoch}{source_version}"));
            }
        }
        None => os.source_name = Some(header.name.clone()),
    }
    package.version = Some(evr);
    package.os = Some(os);
    package
}

/// `(hnum, blob)` rows, at most `max_entries + 1` (one more says the limit was hit).
fn read_rows(bytes: &[u8], max_entries: u64) -> Result<Vec<Row<'static>>, String> {
    let mut copy = tempfile::NamedTempFile::new().map_err(|e| format!("temporary copy: {e}"))?;
    // rpm keeps its database in WAL mode, which a read-only connection can only open with
    // shared-memory files beside it; the header's format bytes (18 and 19) set to 1 (rollback
    // journal) let SQLite read the copy as it is. A WAL file's pages are not part of the copy.
    let (head, rest) = bytes.split_at(bytes.len().min(20));
    let mut head = head.to_vec();
    if let Some(versions) = head.get_mut(18..20)
        && *versions == [2, 2]
    {
        versions.copy_from_slice(&[1, 1]);
    }
    copy.write_all(&head)
        .and_then(|()| copy.write_all(rest))
        .and_then(|()| copy.flush())
        .map_err(|e| format!("temporary copy: {e}"))?;
    let connection = Connection::open_with_flags(
        copy.path(),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    let limit = i64::try_from(max_entries.saturating_add(1)).unwrap_or(i64::MAX);
    let mut statement = connection
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum LIMIT ?1")
        .map_err(|e| e.to_string())?;
    let rows = statement
        .query_map([limit], |row| Ok((row.get(0)?, Cow::Owned(row.get(1)?))))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::{rpm_header_blob, rpmdb_sqlite};

    fn openssl() -> Vec<u8> {
        rpm_header_blob(
            &[
                (TAG_NAME, "openssl-libs"),
                (TAG_VERSION, "3.0.7"),
                (TAG_RELEASE, "27.el9"),
                (TAG_ARCH, "x86_64"),
                (TAG_LICENSE, "ASL 2.0"),
                (TAG_SOURCERPM, "openssl-3.0.7-27.el9.src.rpm"),
                (TAG_SUMMARY, "A general purpose cryptography library"),
            ],
            Some(1),
        )
    }

    #[test]
    fn reads_a_header() {
        let header = parse_header(&openssl()).expect("parses");
        assert_eq!(header.name, "openssl-libs");
        assert_eq!(header.evr(), "1:3.0.7-27.el9");
        assert_eq!(header.arch.as_deref(), Some("x86_64"));
        assert_eq!(header.license.as_deref(), Some("ASL 2.0"));
        assert_eq!(
            header.source_package(),
            Some(("openssl".to_owned(), "3.0.7-27.el9".to_owned()))
        );
        let no_epoch = RpmHeader {
            epoch: Some(0),
            ..header.clone()
        };
        assert_eq!(no_epoch.evr(), "3.0.7-27.el9");
        let dashed = RpmHeader {
            source_rpm: Some("python3-pip-21.3.1-1.el9.src.rpm".to_owned()),
            ..header
        };
        assert_eq!(
            dashed.source_package(),
            Some(("python3-pip".to_owned(), "21.3.1-1.el9".to_owned()))
        );
    }

    #[test]
    fn damaged_headers_are_errors_naming_what_failed() {
        let good = openssl();
        assert_eq!(parse_header(&good[..5]), Err(HeaderError::TooShort(5)));
        assert!(matches!(
            parse_header(&good[..good.len() - 1]),
            Err(HeaderError::Overrun { .. })
        ));
        // An entry count that would need gigabytes of index is refused before allocating.
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            parse_header(&huge),
            Err(HeaderError::Overrun { .. })
        ));
        // The first index entry (EPOCH) pointing past the data store.
        let mut outside = good.clone();
        outside[16..20].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
        assert!(matches!(
            parse_header(&outside),
            Err(HeaderError::OffsetOutOfRange {
                entry: 0,
                tag: TAG_EPOCH,
                ..
            })
        ));
        // EPOCH given as a STRING.
        let mut typed = good.clone();
        typed[12..16].copy_from_slice(&TYPE_STRING.to_be_bytes());
        assert!(matches!(
            parse_header(&typed),
            Err(HeaderError::WrongType { .. })
        ));
        // The last string without its NUL.
        let mut open = good;
        let last = open.len() - 1;
        open[last] = b'x';
        assert!(matches!(
            parse_header(&open),
            Err(HeaderError::Unterminated { .. })
        ));
        assert_eq!(
            parse_header(&rpm_header_blob(&[(TAG_NAME, "x")], None)),
            Err(HeaderError::Missing("VERSION"))
        );
    }

    #[test]
    fn reads_a_database_skipping_public_keys_and_reporting_bad_rows() {
        let key = rpm_header_blob(
            &[
                (TAG_NAME, "gpg-pubkey"),
                (TAG_VERSION, "fd431d51"),
                (TAG_RELEASE, "4ae0493b"),
            ],
            None,
        );
        let db = rpmdb_sqlite(&[openssl(), key, b"\0\0\0\x09junk".to_vec()], true);
        assert_eq!(
            &db[18..20],
            &[2, 2],
            "the fixture is in WAL mode as rpm's is"
        );
        let rocky = Distro {
            id: "rocky".to_owned(),
            version_id: Some("9.3".to_owned()),
            ..Distro::default()
        };
        let mut problems = Vec::new();
        let location = Location::file("rpmdb.sqlite");
        let packages = parse_rpmdb(
            &db,
            RpmDbFormat::Sqlite,
            &location,
            Some(&rocky),
            100,
            &mut problems,
        );
        assert_eq!(packages.len(), 1, "{packages:?}");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("row 3"), "{problems:?}");
        let package = &packages[0];
        assert_eq!(package.version.as_deref(), Some("1:3.0.7-27.el9"));
        assert_eq!(package.ecosystem, Ecosystem::Rpm);
        let os = package.os.as_ref().expect("os facts");
        assert_eq!(os.source_name.as_deref(), Some("openssl"));
        assert_eq!(os.source_version, None, "same version as the binary");
        assert_eq!(os.distro.as_deref(), Some("rocky-9.3"));
        assert_eq!(os.advisory_ecosystem.as_deref(), Some("Rocky Linux:9"));

        let mut problems = Vec::new();
        assert!(
            parse_rpmdb(&db, RpmDbFormat::Sqlite, &location, None, 1, &mut problems).len() <= 1
        );
        assert_eq!(problems[0].kind, ProblemKind::LimitExceeded);
    }

    #[test]
    fn a_database_sqlite_cannot_read_is_one_problem() {
        for bytes in [&b""[..], b"SQLite format 3\0garbage", b"\x00\x01\x02"] {
            let mut problems = Vec::new();
            let packages = parse_rpmdb(
                bytes,
                RpmDbFormat::Sqlite,
                &Location::file("rpmdb.sqlite"),
                None,
                10,
                &mut problems,
            );
            assert!(packages.is_empty());
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].kind, ProblemKind::Malformed);
            assert!(problems[0].message.contains("rpm database"), "{problems:?}");
        }
    }

    /// What an inventory says of a package, without where it was read.
    fn listed(packages: &[Package]) -> Vec<(String, Option<String>, Option<String>, String)> {
        packages
            .iter()
            .map(|p| {
                let os = p.os.as_ref().expect("os facts");
                (
                    p.name.clone(),
                    p.version.clone(),
                    os.arch.clone(),
                    format!("{:?}", (&os.source_name, &os.source_version, &os.distro)),
                )
            })
            .collect()
    }

    #[test]
    fn berkeley_db_and_ndb_list_what_the_sqlite_database_of_the_same_headers_lists() {
        let headers: Vec<Vec<u8>> = ["rampart-alpha.header", "rampart-beta.header", "tiny.header"]
            .iter()
            .map(|name| {
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/rpm")
                    .join(name);
                std::fs::read(path).expect("fixture")
            })
            .collect();
        let distro = Distro {
            id: "centos".to_owned(),
            version_id: Some("8".to_owned()),
            ..Distro::default()
        };
        let read = |bytes: &[u8], format| {
            let mut problems = Vec::new();
            let location = Location::file("Packages");
            let packages = parse_rpmdb(bytes, format, &location, Some(&distro), 100, &mut problems);
            assert!(problems.is_empty(), "{problems:?}");
            packages
        };
        let sqlite = read(&rpmdb_sqlite(&headers, false), RpmDbFormat::Sqlite);
        assert_eq!(sqlite.len(), 3);
        assert_eq!(sqlite[1].version.as_deref(), Some("2:1.2.4-5.el8"));
        for (fixture, format) in [
            ("Packages-le", RpmDbFormat::BerkeleyDb),
            ("Packages-be", RpmDbFormat::BerkeleyDb),
            ("Packages.db", RpmDbFormat::Ndb),
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/rpm")
                .join(fixture);
            let packages = read(&std::fs::read(path).expect("fixture"), format);
            assert_eq!(listed(&packages), listed(&sqlite), "{fixture}");
            assert!(packages.iter().all(|p| p.origin == format.source_format()));
        }
    }

    #[test]
    fn a_damaged_berkeley_db_is_one_problem_at_its_offset_keeping_what_was_read() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpm/Packages-le");
        let mut bytes = std::fs::read(path).expect("fixture");
        // Page 2 (the second bucket) says it holds an odd number of items.
        bytes[2 * 512 + 20] = 5;
        let mut problems = Vec::new();
        let location = Location::file("Packages");
        let packages = parse_rpmdb(
            &bytes,
            RpmDbFormat::BerkeleyDb,
            &location,
            None,
            100,
            &mut problems,
        );
        assert!(!packages.is_empty(), "page 1's packages are kept");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].kind, ProblemKind::Malformed);
        assert_eq!(problems[0].location.offset, Some(2 * 512 + 20));
        assert!(
            problems[0].message.contains("after the damage"),
            "{problems:?}"
        );
    }
}
