//! The one envelope of an [`StdfError`] inside an [`ArrowError`].
//!
//! Arrow's reader interfaces carry errors as `ArrowError`; a decoding error travels inside it as
//! `ArrowError::ExternalError(Box<StdfError>)` so that every binding (DuckDB, Python, Parquet)
//! recovers the file, byte offset and record type. Wrapping and unwrapping happen here only.

use arrow_schema::ArrowError;
use stdf_core::{ErrorKind, StdfError};

/// `e` wrapped for an Arrow interface.
pub fn to_arrow(e: StdfError) -> ArrowError {
    ArrowError::ExternalError(Box::new(e))
}

/// The STDF error an Arrow error carries, if it carries one.
pub fn stdf_error(e: &ArrowError) -> Option<&StdfError> {
    match e {
        ArrowError::ExternalError(inner) => inner.downcast_ref::<StdfError>(),
        _ => None,
    }
}

/// `e` as an STDF error of the file `path`: the one it carries, else a format error naming `path`
/// with Arrow's message.
pub fn into_stdf(path: &str, e: ArrowError) -> StdfError {
    match e {
        ArrowError::ExternalError(inner) => match inner.downcast::<StdfError>() {
            Ok(s) => *s,
            Err(other) => StdfError::new(ErrorKind::Format, path, other.to_string()),
        },
        other => StdfError::new(ErrorKind::Format, path, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_path_offset_and_record() {
        let e = StdfError::new(ErrorKind::Truncated, "a.stdf", "cut")
            .at(42)
            .record("PTR");
        let a = to_arrow(e.clone());
        let back = stdf_error(&a).expect("carried");
        let facts = (back.path.as_str(), back.offset, back.record.as_deref());
        assert_eq!(facts, ("a.stdf", Some(42), Some("PTR")));
        let owned = into_stdf("other.stdf", a);
        assert_eq!(owned.path, "a.stdf");
        assert_eq!(owned.kind, ErrorKind::Truncated);
    }

    #[test]
    fn a_plain_arrow_error_names_the_file() {
        let e = into_stdf("b.stdf", ArrowError::ComputeError("bad".into()));
        assert_eq!((e.kind, e.path.as_str()), (ErrorKind::Format, "b.stdf"));
        assert!(e.message.contains("bad"), "{}", e.message);
        assert!(stdf_error(&ArrowError::ComputeError("x".into())).is_none());
    }
}
