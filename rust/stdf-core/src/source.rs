//! Opening a file: compression sniffed from magic bytes (never from the name).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use crate::error::{Result, StdfError};

/// Container format of an input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Zip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Zip => "zip",
            Compression::Zstd => "zstd",
        }
    }
    /// Sniff from the first bytes of a file.
    pub fn sniff(head: &[u8]) -> Compression {
        match head {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [b'B', b'Z', b'h', ..] => Compression::Bzip2,
            [b'P', b'K', 3, 4, ..] => Compression::Zip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// An opened input: decompressed byte stream plus what is known about the file.
pub struct Source {
    pub reader: Box<dyn Read + Send>,
    pub compression: Compression,
    /// Size on disk.
    pub file_size: u64,
}

const IO_BUF: usize = 1 << 20;

/// Open `path`, sniff its compression and return the decompressed stream.
pub fn open(path: &str) -> Result<Source> {
    let file = File::open(path).map_err(|e| StdfError::io(path, &e))?;
    let file_size = file.metadata().map_err(|e| StdfError::io(path, &e))?.len();
    let mut br = BufReader::with_capacity(IO_BUF, file);
    let head = br.fill_buf().map_err(|e| StdfError::io(path, &e))?;
    let compression = Compression::sniff(head);
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(br),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(br)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(br)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(br).map_err(|e| StdfError::io(path, &e))?,
        ),
        Compression::Zip => open_zip_member(path, br.into_inner())?,
    };
    Ok(Source {
        reader,
        compression,
        file_size,
    })
}

/// The first file member of a zip archive, streamed from its data offset.
fn open_zip_member(path: &str, file: File) -> Result<Box<dyn Read + Send>> {
    let zerr = |e: zip::result::ZipError| {
        StdfError::new(
            crate::ErrorKind::Io,
            path,
            format!("cannot read zip archive: {e}"),
        )
    };
    let mut archive = zip::ZipArchive::new(file).map_err(zerr)?;
    let mut chosen = None;
    for i in 0..archive.len() {
        let m = archive.by_index_raw(i).map_err(zerr)?;
        if m.is_file() {
            chosen = Some((m.data_start(), m.compressed_size(), m.compression()));
            break;
        }
    }
    let (start, csize, method) = chosen.ok_or_else(|| {
        StdfError::new(crate::ErrorKind::Format, path, "zip archive holds no file")
    })?;
    let mut file = archive.into_inner();
    file.seek(SeekFrom::Start(start))
        .map_err(|e| StdfError::io(path, &e))?;
    let raw = BufReader::with_capacity(IO_BUF, file).take(csize);
    use zip::CompressionMethod as M;
    Ok(match method {
        M::Stored => Box::new(raw),
        M::Deflated => Box::new(flate2::read::DeflateDecoder::new(raw)),
        M::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(raw)),
        M::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(raw).map_err(|e| StdfError::io(path, &e))?)
        }
        other => {
            return Err(StdfError::new(
                crate::ErrorKind::Unsupported,
                path,
                format!("zip compression method {other:?} is not supported"),
            ))
        }
    })
}
