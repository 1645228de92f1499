//! rpm's NDB database `Packages.db` (rpm 4.16's own format; openSUSE/SLES 15 before SQLite),
//! all little-endian: a 32-byte header (`RpmP`, version 0, generation, number of 4096-byte
//! slot pages, next package index), then slot pages of 16-byte slots (`Slot`, package index,
//! first 16-byte block, block count; block 0 means free), then blobs: a 16-byte head (`BlbS`,
//! package index, timestamp, length), the header blob, zero padding to a block and a 12-byte
//! tail (Adler-32 of everything before it, length, `BlbE`). Every slot is checked to name
//! blocks inside the file after the slot pages and not overlapping another slot's, so the
//! checksums read each byte of the file at most once.

use std::borrow::Cow;

use super::{Damage, Row, damage};

const HEADER_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_HEAD_MAGIC: &[u8; 4] = b"BlbS";
const BLOB_TAIL_MAGIC: &[u8; 4] = b"BlbE";
const HEADER_LEN: usize = 32;
const SLOT_PAGE_LEN: usize = 4096;
const SLOT_LEN: usize = 16;
const BLOCK_LEN: usize = 16;
const BLOB_HEAD_LEN: usize = 16;
const BLOB_TAIL_LEN: usize = 12;

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(word))
}

/// A used slot: where its blob is.
struct Slot {
    at: usize,
    package: u32,
    first_block: usize,
    blocks: usize,
}

/// The `(package index, header blob)` pairs of a `Packages.db` file, at most `max_rows + 1`,
/// in package order, and the damage that stopped the reading, if any (the pairs read before it
/// are kept).
pub(crate) fn read_packages(bytes: &[u8], max_rows: usize) -> (Vec<Row<'_>>, Option<Damage>) {
    let mut rows = Vec::new();
    let damage = read(bytes, max_rows, &mut rows).err();
    rows.sort_by_key(|(package, _)| *package);
    (rows, damage)
}

fn read<'a>(bytes: &'a [u8], max_rows: usize, rows: &mut Vec<Row<'a>>) -> Result<(), Damage> {
    if bytes.get(..4) != Some(HEADER_MAGIC.as_slice()) || bytes.len() < HEADER_LEN {
        return Err(damage(0, "no NDB header (`RpmP`)"));
    }
    let version = le_u32(bytes, 4).unwrap_or_default();
    if version != 0 {
        return Err(damage(4, format!("NDB version {version}, not 0")));
    }
    let slot_pages = le_u32(bytes, 12).unwrap_or_default() as usize;
    let slots_end = slot_pages
        .checked_mul(SLOT_PAGE_LEN)
        .filter(|&end| end >= SLOT_PAGE_LEN && end <= bytes.len())
        .ok_or_else(|| {
            damage(
                12,
                format!(
                    "{slot_pages} slot pages of {SLOT_PAGE_LEN} bytes do not fit the {}-byte file",
                    bytes.len()
                ),
            )
        })?;
    let first_data_block = slots_end / BLOCK_LEN;
    let file_blocks = bytes.len() / BLOCK_LEN;
    let mut slots = Vec::new();
    for at in (HEADER_LEN..slots_end).step_by(SLOT_LEN) {
        if bytes.get(at..at + 4) != Some(SLOT_MAGIC.as_slice()) {
            return Err(damage(at, "a slot without its `Slot` magic"));
        }
        let field = |offset: usize| le_u32(bytes, at + offset).unwrap_or_default();
        let (package, first_block, blocks) = (field(4), field(8) as usize, field(12) as usize);
        if first_block == 0 {
            continue;
        }
        if package == 0
            || blocks == 0
            || first_block < first_data_block
            || first_block.saturating_add(blocks) > file_blocks
        {
            return Err(damage(
                at,
                format!(
                    "the slot of package {package} names blocks {first_block}+{blocks}, outside \
                     the file's {file_blocks} blocks after its slot pages"
                ),
            ));
        }
        slots.push(Slot {
            at,
            package,
            first_block,
            blocks,
        });
    }
    slots.sort_by_key(|slot| slot.first_block);
    let mut end_of_previous = first_data_block;
    for slot in &slots {
        if rows.len() > max_rows {
            break;
        }
        if slot.first_block < end_of_previous {
            return Err(damage(
                slot.at,
                format!(
                    "the blob of package {} overlaps the one before it",
                    slot.package
                ),
            ));
        }
        end_of_previous = slot.first_block + slot.blocks;
        rows.push((i64::from(slot.package), Cow::Borrowed(blob(bytes, slot)?)));
    }
    Ok(())
}

/// The header blob a slot names, after checking its head, tail and checksum.
fn blob<'a>(bytes: &'a [u8], slot: &Slot) -> Result<&'a [u8], Damage> {
    let start = slot.first_block * BLOCK_LEN;
    let area = bytes
        .get(start..start + slot.blocks * BLOCK_LEN)
        .unwrap_or_default();
    let package = slot.package;
    let length = le_u32(area, 12).unwrap_or_default() as usize;
    let expected_blocks = length
        .checked_add(BLOB_HEAD_LEN + BLOB_TAIL_LEN + BLOCK_LEN - 1)
        .map(|len| len / BLOCK_LEN);
    if area.get(..4) != Some(BLOB_HEAD_MAGIC.as_slice())
        || le_u32(area, 4) != Some(package)
        || expected_blocks != Some(slot.blocks)
    {
        return Err(damage(
            start,
            format!(
                "the blob of package {package} does not start with a `BlbS` head naming it and \
                 a length that fills its {} blocks",
                slot.blocks
            ),
        ));
    }
    let tail_at = area.len().saturating_sub(BLOB_TAIL_LEN);
    let checksum = le_u32(area, tail_at);
    if le_u32(area, tail_at + 4) != Some(length as u32)
        || area.get(tail_at + 8..) != Some(BLOB_TAIL_MAGIC.as_slice())
    {
        return Err(damage(
            start + tail_at,
            format!("the blob of package {package} has no `BlbE` tail repeating its length"),
        ));
    }
    if checksum != Some(adler32(area.get(..tail_at).unwrap_or_default())) {
        return Err(damage(
            start + tail_at,
            format!("the blob of package {package} does not match its Adler-32 checksum"),
        ));
    }
    Ok(area
        .get(BLOB_HEAD_LEN..BLOB_HEAD_LEN + length)
        .unwrap_or_default())
}

/// Adler-32 (RFC 1950).
fn adler32(bytes: &[u8]) -> u32 {
    const MODULUS: u32 = 65521;
    // 5552 bytes is the most that can be summed before the sums overflow a u32.
    let (mut low, mut high) = (1u32, 0u32);
    for chunk in bytes.chunks(5552) {
        for &byte in chunk {
            low += u32::from(byte);
            high += low;
        }
        low %= MODULUS;
        high %= MODULUS;
    }
    (high << 16) | low
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATABASE: &[u8] = include_bytes!("../../tests/fixtures/rpm/Packages.db");
    /// The fixture's slots: header, then one slot per package.
    const FIRST_SLOT: usize = HEADER_LEN;

    fn read_damaged(edit: impl FnOnce(&mut Vec<u8>)) -> (usize, Damage) {
        let mut bytes = DATABASE.to_vec();
        edit(&mut bytes);
        let (rows, damage) = read_packages(&bytes, 100);
        (rows.len(), damage.expect("damage reported"))
    }

    #[test]
    fn reads_every_slot_in_package_order() {
        let (rows, damage) = read_packages(DATABASE, 100);
        assert_eq!(damage, None);
        let packages: Vec<i64> = rows.iter().map(|(package, _)| *package).collect();
        assert_eq!(packages, [1, 2, 3]);
        let tiny = include_bytes!("../../tests/fixtures/rpm/tiny.header");
        assert_eq!(rows[2].1.as_ref(), tiny);
        assert_eq!(read_packages(DATABASE, 1).0.len(), 2, "one past the limit");
    }

    #[test]
    fn adler32_matches_rfc_1950() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(&[0xff; 70_000]), 0x2a28_6e81);
    }

    #[test]
    fn damage_is_reported_where_it_is_keeping_earlier_blobs() {
        assert_eq!(read_packages(b"RpmP", 10).1.map(|d| d.offset), Some(0));
        let (_, damage) = read_damaged(|b| b[4] = 1);
        assert_eq!(damage.offset, 4);
        let (_, damage) = read_damaged(|b| b[12..16].copy_from_slice(&u32::MAX.to_le_bytes()));
        assert_eq!(damage.offset, 12);
        let (_, damage) = read_damaged(|b| b[FIRST_SLOT + 1] = b'x');
        assert_eq!(damage.offset, FIRST_SLOT as u64);
        // The first slot's blob reaching past the end of the file.
        let (_, damage) = read_damaged(|b| {
            b[FIRST_SLOT + 12..FIRST_SLOT + 16].copy_from_slice(&100_000u32.to_le_bytes());
        });
        assert!(damage.problem.contains("outside"), "{damage}");
        // The second slot pointing into the first blob.
        let (read, damage) = read_damaged(|b| {
            b[FIRST_SLOT + 24..FIRST_SLOT + 28].copy_from_slice(&257u32.to_le_bytes());
        });
        assert!(damage.problem.contains("overlaps"), "{damage}");
        assert_eq!(read, 1, "the first blob is kept");
        // A byte of the last blob changed: its checksum fails, the first two are kept.
        let (read, damage) = read_damaged(|b| {
            let last = b.len() - 20;
            b[last] ^= 1;
        });
        assert!(damage.problem.contains("Adler-32"), "{damage}");
        assert_eq!(read, 2);
        let (_, damage) = read_damaged(|b| {
            let len = b.len();
            b[len - 1] = b'X';
        });
        assert!(damage.problem.contains("BlbE"), "{damage}");
    }
}
