//! Opening input files once, mapped rather than read, so analyzers touch only the pages
//! they look at: a 10 GB checkpoint's tensor data is never paged in.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ops::Deref;

use memmap2::{Mmap, MmapOptions};

/// A file's bytes: mapped read-only, or empty (zero-length files cannot be mapped).
pub enum FileBytes {
    Mapped(Mmap),
    Empty,
}

impl FileBytes {
    /// Maps `file`, whose length the caller has already taken from its metadata.
    pub fn open(file: &File, len: u64) -> io::Result<FileBytes> {
        if len == 0 {
            return Ok(FileBytes::Empty);
        }
        // SAFETY: the map is read-only and lives only as long as the caller's use of the
        // file. If another process truncates the file meanwhile, reads past the new end fault
        // (SIGBUS); that is the accepted trade-off every mmap-based scanner and hasher
        // (ripgrep, b3sum) makes for not copying gigabytes through read(). We never write
        // through the map.
        let map = unsafe { Mmap::map(file)? };
        Ok(FileBytes::Mapped(map))
    }

    /// Maps `len` bytes of `file` from `offset`, with the pages faulted in up front: for
    /// reading a window once, front to back (hashing), where mapping whole files would keep
    /// every hashed page resident until the end.
    pub fn open_window(file: &File, offset: u64, len: usize) -> io::Result<FileBytes> {
        if len == 0 {
            return Ok(FileBytes::Empty);
        }
        // SAFETY: as in `open`; the window is dropped as soon as it has been read.
        let map = unsafe {
            MmapOptions::new()
                .offset(offset)
                .len(len)
                .populate()
                .map(file)?
        };
        Ok(FileBytes::Mapped(map))
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Empty => &[],
        }
    }
}
