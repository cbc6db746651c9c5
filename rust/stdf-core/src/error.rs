//! Typed errors: every error names the file, the byte offset and the record type.

use std::fmt;

/// What went wrong, coarsely (maps to the Python exception classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not STDF, or structurally impossible data.
    Format,
    /// The stream ends inside a record (or inside a header).
    Truncated,
    /// Valid STDF that this reader does not support (V3, VAX floats).
    Unsupported,
    /// Operating system I/O error, or a broken compressed container.
    Io,
}

impl ErrorKind {
    /// Lower-case name: `"format"`, `"truncated"`, `"unsupported"` or `"io"`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Format => "format",
            ErrorKind::Truncated => "truncated",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Io => "io",
        }
    }
}

/// An error reading an STDF file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct StdfError {
    /// The class of error.
    pub kind: ErrorKind,
    /// The file, as given by the user.
    pub path: String,
    /// Byte offset in the (decompressed) stream of the record header concerned.
    pub offset: Option<u64>,
    /// Record type name (`PTR`, `UNKNOWN 95/116`, ...), when known.
    pub record: Option<String>,
    /// What went wrong, in words (without path, record or offset).
    pub message: String,
    /// `std::io::ErrorKind` name for I/O errors (e.g. "NotFound").
    pub io_kind: Option<String>,
}

impl StdfError {
    /// An error of `kind` on file `path`, with no offset or record yet.
    pub fn new(kind: ErrorKind, path: &str, message: impl Into<String>) -> Self {
        StdfError {
            kind,
            path: path.to_string(),
            offset: None,
            record: None,
            message: message.into(),
            io_kind: None,
        }
    }
    /// Set the byte offset.
    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
    /// Set the record type name.
    pub fn record(mut self, name: impl Into<String>) -> Self {
        self.record = Some(name.into());
        self
    }
    /// An [`ErrorKind::Io`] error from an I/O error, keeping its `ErrorKind` name in `io_kind`.
    pub fn io(path: &str, e: &std::io::Error) -> Self {
        let mut s = StdfError::new(ErrorKind::Io, path, e.to_string());
        s.io_kind = Some(format!("{:?}", e.kind()));
        s
    }
}

impl fmt::Display for StdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        match (&self.record, self.offset) {
            (Some(r), Some(o)) => write!(f, " (record {r} at byte offset {o})"),
            (None, Some(o)) => write!(f, " (at byte offset {o})"),
            (Some(r), None) => write!(f, " (record {r})"),
            (None, None) => Ok(()),
        }
    }
}

/// Result with a [`StdfError`].
pub type Result<T> = std::result::Result<T, StdfError>;
