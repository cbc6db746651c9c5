//! stdf-core: STDF V4 / V4-2007 decoding (every record, both byte orders, compressed input),
//! the part/test semantics the analysis tables need, and an STDF writer.
//!
//! No Arrow, Python or DuckDB here: see `stdf-arrow` for tables.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[macro_use]
pub mod records;
pub mod codec;
pub mod error;
pub mod reader;
pub mod scan;
pub mod semantics;
pub mod source;
pub mod writer;

pub use codec::{ByteOrder, Cur, Dn, Enc, Str};
pub use error::{ErrorKind, StdfError};
pub use reader::{RawRecord, RecordReader};
pub use records::Record;
pub use source::Compression;
