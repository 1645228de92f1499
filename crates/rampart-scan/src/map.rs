//! Opening input files once, mapped rather than read, so analyzers touch only the pages
//! they look at: a 10 GB checkpoint's tensor data is never paged in.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ops::Deref;

use memmap2::Mmap;

pub enum FileBytes {
    Mapped(Mmap),
    Empty,
}

impl FileBytes {
    pub fn open(file: &File, len: u64) -> io::Result<FileBytes> {
        if len == 0 {
            return Ok(FileBytes::Empty);
        }
        // SAFETY: the map is read-only and lives only for this file's scan. If another
        // process truncates the file meanwhile, reads past the new end fault (SIGBUS); that
        // is the accepted trade-off every mmap-based scanner (ripgrep included) makes for not
        // reading gigabytes of tensor data. We never write through the map.
        let map = unsafe { Mmap::map(file)? };
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
