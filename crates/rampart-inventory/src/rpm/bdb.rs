//! rpm's BerkeleyDB `Packages` database (CentOS/RHEL/UBI 7–8, Amazon Linux 2, Oracle 7–8): a
//! BerkeleyDB hash database whose keys are 4-byte package instance numbers and whose values
//! are rpm header blobs. Page 0 is the metadata page (magic, byte order, page size, last page);
//! hash pages hold key/value items through an index of 16-bit offsets, and a value too large
//! for its page lives on a chain of overflow pages. Every page is walked in file order rather
//! than through the hash buckets, so a damaged bucket chain cannot hide the pages after it.
//! Every offset, page number and length is checked against the page and the file, overflow
//! chains are checked for cycles, and the bytes assembled from them are bounded by the file's
//! own length (a valid database cannot hold more).

use std::borrow::Cow;
use std::collections::HashSet;

use super::{Damage, Row, damage};

const HASH_MAGIC: u32 = 0x0006_1561;
const META_MAGIC_AT: usize = 12;
const META_PAGE_SIZE_AT: usize = 20;
const META_ENCRYPTION_AT: usize = 24;
const META_TYPE_AT: usize = 25;
const META_FLAGS_AT: usize = 26;
const META_LAST_PAGE_AT: usize = 32;
/// `DBMETA_CHKSUM`: pages carry a checksum that moves the page layout; rpm never sets it.
const META_FLAG_CHECKSUM: u8 = 0x01;

const PAGE_NEXT_AT: usize = 16;
const PAGE_ENTRIES_AT: usize = 20;
/// On an overflow page, the number of data bytes it holds.
const PAGE_FREE_OFFSET_AT: usize = 22;
const PAGE_TYPE_AT: usize = 25;
const PAGE_HEADER_LEN: usize = 26;

const PAGE_HASH_UNSORTED: u8 = 2;
const PAGE_OVERFLOW: u8 = 7;
const PAGE_HASH_META: u8 = 8;
const PAGE_HASH: u8 = 13;

/// A hash item whose bytes follow its type byte on the page.
const ITEM_KEYDATA: u8 = 1;
/// A hash item naming the first overflow page and the total length of its value.
const ITEM_OFFPAGE: u8 = 3;
const OFFPAGE_LEN: usize = 12;

#[derive(Clone, Copy)]
enum ByteOrder {
    Little,
    Big,
}

/// The file, with the metadata page's facts needed to read its pages.
struct Database<'a> {
    bytes: &'a [u8],
    order: ByteOrder,
    page_size: usize,
    pages: u32,
}

/// The `(package instance, header blob)` pairs of a `Packages` file, at most `max_rows`, in
/// instance order, and the damage that stopped the walk, if any (the pairs read before it are
/// kept). Instance 0 is rpm's next-instance counter, not a package.
pub(crate) fn read_packages(bytes: &[u8], max_rows: usize) -> (Vec<Row<'_>>, Option<Damage>) {
    let mut rows = Vec::new();
    let damage = Database::open(bytes).and_then(|database| database.walk(max_rows, &mut rows));
    rows.sort_by_key(|(instance, _)| *instance);
    (rows, damage.err())
}

impl<'a> Database<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, Damage> {
        let magic: [u8; 4] = bytes
            .get(META_MAGIC_AT..META_MAGIC_AT + 4)
            .and_then(|word| word.try_into().ok())
            .ok_or_else(|| {
                damage(
                    0,
                    format!("{} bytes hold no BerkeleyDB metadata page", bytes.len()),
                )
            })?;
        let order = if u32::from_le_bytes(magic) == HASH_MAGIC {
            ByteOrder::Little
        } else if u32::from_be_bytes(magic) == HASH_MAGIC {
            ByteOrder::Big
        } else {
            return Err(damage(
                META_MAGIC_AT,
                format!(
                    "magic {:#010x} is not a BerkeleyDB hash database's",
                    u32::from_le_bytes(magic)
                ),
            ));
        };
        let mut database = Database {
            bytes,
            order,
            page_size: 0,
            pages: 0,
        };
        let page_size = database
            .u32_at(bytes, META_PAGE_SIZE_AT)
            .unwrap_or_default();
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(damage(
                META_PAGE_SIZE_AT,
                format!("page size {page_size} is not a power of two from 512 to 65536"),
            ));
        }
        database.page_size = page_size as usize;
        let byte = |at: usize| bytes.get(at).copied().unwrap_or_default();
        if byte(META_TYPE_AT) != PAGE_HASH_META {
            return Err(damage(
                META_TYPE_AT,
                format!(
                    "page 0 has type {}, not a hash metadata page",
                    byte(META_TYPE_AT)
                ),
            ));
        }
        if byte(META_ENCRYPTION_AT) != 0 || byte(META_FLAGS_AT) & META_FLAG_CHECKSUM != 0 {
            return Err(damage(
                META_ENCRYPTION_AT,
                "the database is encrypted or checksummed, which rpm's databases never are, \
                 and its pages cannot be read",
            ));
        }
        let last_page = database
            .u32_at(bytes, META_LAST_PAGE_AT)
            .unwrap_or_default();
        let whole_pages = u32::try_from(bytes.len() / database.page_size).unwrap_or(u32::MAX);
        database.pages = last_page.saturating_add(1).min(whole_pages);
        // A truncated file is read up to its end; the walk reports the truncation after.
        Ok(database)
    }

    fn u32_at(&self, bytes: &[u8], at: usize) -> Option<u32> {
        let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self.order {
            ByteOrder::Little => u32::from_le_bytes(word),
            ByteOrder::Big => u32::from_be_bytes(word),
        })
    }

    fn u16_at(&self, bytes: &[u8], at: usize) -> Option<u16> {
        let word: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self.order {
            ByteOrder::Little => u16::from_le_bytes(word),
            ByteOrder::Big => u16::from_be_bytes(word),
        })
    }

    /// Page `number`'s bytes and its offset in the file.
    fn page(&self, number: u32) -> Option<(&'a [u8], usize)> {
        if number == 0 || number >= self.pages {
            return None;
        }
        let start = (number as usize).checked_mul(self.page_size)?;
        let page = self.bytes.get(start..start.checked_add(self.page_size)?)?;
        Some((page, start))
    }

    fn walk(&self, max_rows: usize, rows: &mut Vec<Row<'a>>) -> Result<(), Damage> {
        // Overflow values of a valid database together fit in its file.
        let mut budget = self.bytes.len();
        for number in 1..self.pages {
            let Some((page, start)) = self.page(number) else {
                break;
            };
            let kind = page.get(PAGE_TYPE_AT).copied().unwrap_or_default();
            if kind != PAGE_HASH && kind != PAGE_HASH_UNSORTED {
                continue;
            }
            let entries = usize::from(self.u16_at(page, PAGE_ENTRIES_AT).unwrap_or_default());
            let index_end = entries
                .checked_mul(2)
                .and_then(|len| len.checked_add(PAGE_HEADER_LEN))
                .filter(|&end| end <= page.len() && entries % 2 == 0)
                .ok_or_else(|| {
                    damage(
                        start + PAGE_ENTRIES_AT,
                        format!(
                            "hash page {number} declares {entries} items, not key/value pairs its \
                             page can index"
                        ),
                    )
                })?;
            for pair in (0..entries).step_by(2) {
                if rows.len() > max_rows {
                    return Ok(());
                }
                let (key_kind, key, key_at) = self.item(page, start, number, index_end, pair)?;
                let (value_kind, value, value_at) =
                    self.item(page, start, number, index_end, pair + 1)?;
                let instance = match (key_kind, key.len()) {
                    (ITEM_KEYDATA, 4) => self.u32_at(key, 0).unwrap_or_default(),
                    _ => {
                        return Err(damage(
                            key_at,
                            format!(
                                "the key of item {pair} on hash page {number} is not a 4-byte \
                                 package instance"
                            ),
                        ));
                    }
                };
                let blob = match value_kind {
                    ITEM_KEYDATA => Cow::Borrowed(value),
                    ITEM_OFFPAGE => Cow::Owned(self.overflow(value, value_at, &mut budget)?),
                    other => {
                        return Err(damage(
                            value_at,
                            format!(
                                "the value of package {instance} has item type {other}, which rpm \
                                 never writes"
                            ),
                        ));
                    }
                };
                if instance != 0 {
                    rows.push((i64::from(instance), blob));
                }
            }
        }
        let whole_pages = u32::try_from(self.bytes.len() / self.page_size).unwrap_or(u32::MAX);
        let last_page = self
            .u32_at(self.bytes, META_LAST_PAGE_AT)
            .unwrap_or_default();
        if last_page >= whole_pages {
            return Err(damage(
                self.bytes.len(),
                format!(
                    "the file ends after {whole_pages} pages, the metadata page names {}",
                    u64::from(last_page) + 1
                ),
            ));
        }
        Ok(())
    }

    /// Item `item` of a hash page: its type, the bytes after the type byte, and its offset in
    /// the file. Items fill the page from its end, each ending where the one before begins.
    fn item(
        &self,
        page: &'a [u8],
        start: usize,
        number: u32,
        index_end: usize,
        item: usize,
    ) -> Result<(u8, &'a [u8], usize), Damage> {
        let slot = PAGE_HEADER_LEN + 2 * item;
        let at = usize::from(self.u16_at(page, slot).unwrap_or_default());
        let end = match item.checked_sub(1) {
            Some(previous) => usize::from(
                self.u16_at(page, PAGE_HEADER_LEN + 2 * previous)
                    .unwrap_or_default(),
            ),
            None => page.len(),
        };
        match page.get(at..end) {
            Some([kind, rest @ ..]) if at >= index_end => Ok((*kind, rest, start + at)),
            _ => Err(damage(
                start + slot,
                format!(
                    "item {item} of hash page {number} spans bytes {at}..{end}, outside \
                     its page's item area"
                ),
            )),
        }
    }

    /// The value an off-page item names, gathered from its overflow chain.
    fn overflow(&self, item: &[u8], item_at: usize, budget: &mut usize) -> Result<Vec<u8>, Damage> {
        let (Some(first), Some(total)) = (self.u32_at(item, 3), self.u32_at(item, 7)) else {
            return Err(damage(
                item_at,
                format!("an off-page item shorter than {OFFPAGE_LEN} bytes"),
            ));
        };
        let total = total as usize;
        if total > *budget {
            return Err(damage(
                item_at,
                format!(
                    "an off-page value of {total} bytes, more than the rest of the file could hold"
                ),
            ));
        }
        *budget -= total;
        let mut value = Vec::with_capacity(total);
        let mut visited = HashSet::new();
        let mut number = first;
        while number != 0 {
            let Some((page, start)) = self.page(number) else {
                return Err(damage(
                    item_at,
                    format!("an overflow chain names page {number}, which is not in the file"),
                ));
            };
            if !visited.insert(number) {
                return Err(damage(
                    start,
                    format!("the overflow chain from page {first} loops back to page {number}"),
                ));
            }
            let held = usize::from(self.u16_at(page, PAGE_FREE_OFFSET_AT).unwrap_or_default());
            let data = match page.get(PAGE_TYPE_AT) {
                Some(&PAGE_OVERFLOW) => {
                    page.get(PAGE_HEADER_LEN..PAGE_HEADER_LEN.saturating_add(held))
                }
                _ => None,
            };
            match data {
                Some(data) if value.len() + data.len() <= total => value.extend_from_slice(data),
                _ => {
                    return Err(damage(
                        start,
                        format!(
                            "page {number} of the overflow chain from page {first} is not an \
                             overflow page holding its part of a {total}-byte value"
                        ),
                    ));
                }
            }
            number = self.u32_at(page, PAGE_NEXT_AT).unwrap_or_default();
        }
        if value.len() != total {
            return Err(damage(
                item_at,
                format!(
                    "the overflow chain from page {first} holds {} of its value's {total} bytes",
                    value.len()
                ),
            ));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LITTLE: &[u8] = include_bytes!("../../tests/fixtures/rpm/Packages-le");
    const BIG: &[u8] = include_bytes!("../../tests/fixtures/rpm/Packages-be");
    const PAGE: usize = 512;

    fn headers() -> [&'static [u8]; 3] {
        [
            include_bytes!("../../tests/fixtures/rpm/rampart-alpha.header"),
            include_bytes!("../../tests/fixtures/rpm/rampart-beta.header"),
            include_bytes!("../../tests/fixtures/rpm/tiny.header"),
        ]
    }

    fn instances(rows: &[Row<'_>]) -> Vec<i64> {
        rows.iter().map(|(instance, _)| *instance).collect()
    }

    #[test]
    fn reads_both_byte_orders_on_page_and_overflow_values() {
        for bytes in [LITTLE, BIG] {
            let (rows, damage) = read_packages(bytes, 100);
            assert_eq!(damage, None);
            assert_eq!(instances(&rows), [1, 2, 3], "instance 0 is the counter");
            for ((_, blob), header) in rows.iter().zip(headers()) {
                assert_eq!(blob.as_ref(), header);
            }
            assert!(matches!(rows[0].1, Cow::Owned(_)), "1.4 KB: overflow pages");
            assert!(
                matches!(rows[2].1, Cow::Borrowed(_)),
                "90 bytes: on its page"
            );
        }
    }

    #[test]
    fn stops_after_one_row_more_than_asked() {
        let (rows, damage) = read_packages(LITTLE, 1);
        assert_eq!(rows.len(), 2);
        assert_eq!(damage, None);
    }

    #[test]
    fn a_truncated_file_keeps_the_packages_of_the_pages_it_holds() {
        // Pages 1–2 are the buckets; the overflow chains start at page 3.
        let (rows, damage) = read_packages(&LITTLE[..3 * PAGE], 100);
        let damage = damage.expect("damage reported");
        assert!(damage.problem.contains("not in the file"), "{damage}");
        assert!(rows.len() <= 1, "{rows:?}");
        let (rows, damage) = read_packages(&LITTLE[..LITTLE.len() - 1], 100);
        assert!(damage.is_some());
        assert!(rows.len() < 3);
    }

    #[test]
    fn headers_that_are_not_a_hash_database_are_refused_where_they_fail() {
        let (rows, damage) = read_packages(b"short", 10);
        assert!(rows.is_empty());
        assert_eq!(damage.map(|d| d.offset), Some(0));
        let mut btree = LITTLE.to_vec();
        btree[12..16].copy_from_slice(&0x0005_3162u32.to_le_bytes());
        assert_eq!(read_packages(&btree, 10).1.map(|d| d.offset), Some(12));
        let mut odd_page = LITTLE.to_vec();
        odd_page[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(read_packages(&odd_page, 10).1.map(|d| d.offset), Some(20));
        let mut checksummed = LITTLE.to_vec();
        checksummed[26] |= META_FLAG_CHECKSUM;
        assert!(read_packages(&checksummed, 10).1.is_some());
    }

    /// The offset of page `page`'s first off-page item.
    fn offpage_item(bytes: &[u8], page: usize) -> usize {
        let start = page * PAGE;
        (0..4)
            .map(|i| {
                let slot = start + PAGE_HEADER_LEN + 2 * i;
                start + usize::from(u16::from_le_bytes([bytes[slot], bytes[slot + 1]]))
            })
            .find(|&at| bytes[at] == ITEM_OFFPAGE)
            .expect("an off-page item")
    }

    #[test]
    fn overflow_chains_are_checked() {
        let item = offpage_item(LITTLE, 1);
        let first = u32::from_le_bytes(LITTLE[item + 4..item + 8].try_into().unwrap()) as usize;

        let mut looping = LITTLE.to_vec();
        looping[first * PAGE + PAGE_NEXT_AT..][..4].copy_from_slice(&(first as u32).to_le_bytes());
        let damage = read_packages(&looping, 10).1.expect("a loop");
        assert!(damage.problem.contains("loops back"), "{damage}");

        let mut outside = LITTLE.to_vec();
        outside[item + 4..item + 8].copy_from_slice(&9999u32.to_le_bytes());
        let damage = read_packages(&outside, 10).1.expect("a page outside");
        assert!(damage.problem.contains("page 9999"), "{damage}");
        assert_eq!(damage.offset, item as u64);

        let mut huge = LITTLE.to_vec();
        huge[item + 8..item + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let damage = read_packages(&huge, 10)
            .1
            .expect("a value larger than the file");
        assert!(damage.problem.contains("more than the rest"), "{damage}");

        let mut short = LITTLE.to_vec();
        short[item + 8..item + 12].copy_from_slice(&100u32.to_le_bytes());
        assert!(
            read_packages(&short, 10).1.is_some(),
            "a chain longer than its value"
        );

        let mut not_overflow = LITTLE.to_vec();
        not_overflow[first * PAGE + PAGE_TYPE_AT] = PAGE_HASH;
        assert!(read_packages(&not_overflow, 10).1.is_some());
    }

    #[test]
    fn damaged_hash_pages_are_reported() {
        let mut odd = LITTLE.to_vec();
        odd[PAGE + PAGE_ENTRIES_AT] = 3;
        let damage = read_packages(&odd, 10).1.expect("odd item count");
        assert_eq!(damage.offset, (PAGE + PAGE_ENTRIES_AT) as u64);
        let mut inverted = LITTLE.to_vec();
        inverted[PAGE + PAGE_HEADER_LEN..][..2].copy_from_slice(&10u16.to_le_bytes());
        assert!(
            read_packages(&inverted, 10).1.is_some(),
            "item inside the index"
        );
    }
}
