//! The column registries: one per table (`tables/<table>.rs`), each the single place where a
//! column is declared with its name, its builder (which gives its Arrow type), its doc and how a
//! row fills it. The schema (`fields`), the projection (`for_schema`: only the columns asked for
//! are built) and the batch (`finish`, then [`batch`] in the schema's order) are derived from it:
//! no column is known by its position anywhere.
//!
//! Adding a column to a table is one line in its registry (plus its test); adding a table is
//! listed in CONTRIBUTING.md.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, ListBuilder, PrimitiveBuilder, StringBuilder,
};
use arrow_array::types::ArrowPrimitiveType;
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use arrow_schema::{ArrowError, DataType, Field, SchemaRef};

pub(crate) mod archive;
pub(crate) mod bins;
pub(crate) mod files;
pub(crate) mod parts;
pub(crate) mod records;
pub(crate) mod results;
pub(crate) mod tests;
pub(crate) mod wafers;
pub(crate) mod warnings;

/// The file-level view every lot table's row carries.
#[derive(Clone, Copy)]
pub(crate) struct LotRow<'a>(pub &'a stdf_core::semantics::lot::Lot);

impl<'a> LotRow<'a> {
    pub fn ctx(&self, i: usize) -> &'a stdf_core::semantics::Context {
        &self.0.contexts[i]
    }
    pub fn file_id(&self) -> &'a str {
        &self.0.file.file_id
    }
    pub fn path(&self) -> &'a str {
        &self.0.file.path
    }
    pub fn file_name(&self) -> String {
        std::path::Path::new(self.path())
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// A column builder: its Arrow type and how it ends as an array.
pub(crate) trait Column: Default {
    fn data_type() -> DataType;
    fn finish_array(&mut self) -> ArrayRef;
}

impl<T: ArrowPrimitiveType> Column for PrimitiveBuilder<T> {
    fn data_type() -> DataType {
        T::DATA_TYPE
    }
    fn finish_array(&mut self) -> ArrayRef {
        Arc::new(self.finish())
    }
}

macro_rules! simple_column {
    ($($b:ty => $t:expr),* $(,)?) => {$(
        impl Column for $b {
            fn data_type() -> DataType {
                $t
            }
            fn finish_array(&mut self) -> ArrayRef {
                Arc::new(self.finish())
            }
        }
    )*};
}
simple_column!(
    BooleanBuilder => DataType::Boolean,
    StringBuilder => DataType::Utf8,
    BinaryBuilder => DataType::Binary,
);

impl<B: Column + ArrayBuilder> Column for ListBuilder<B> {
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new("item", B::data_type(), true)))
    }
    fn finish_array(&mut self) -> ArrayRef {
        Arc::new(self.finish())
    }
}

impl Column for crate::builders::DictCol {
    fn data_type() -> DataType {
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    }
    fn finish_array(&mut self) -> ArrayRef {
        self.finish()
    }
}

/// Declares a table's columns: `/// doc` then `name: Builder => |builder, row| fill,` per
/// column, in schema order. `row` is a `&$Row`. Generates the struct holding the builders of the
/// projected columns and its `COLUMNS`, `fields`, `for_schema`, `push` and `finish`.
macro_rules! columns {
    (
        $(#[$m:meta])*
        $vis:vis struct $Cols:ident for $Row:ty {
            $( $(#[doc = $doc:literal])+ $name:ident : $B:ty => |$b:ident, $r:ident| $fill:expr ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Default)]
        $vis struct $Cols {
            $( $name: Option<$B>, )*
        }

        #[allow(dead_code)]
        impl $Cols {
            /// (name, doc) of every column, in schema order.
            pub(crate) const COLUMNS: &'static [(&'static str, &'static str)] =
                &[ $( (stringify!($name), concat!($($doc),+)) ),* ];

            /// The table's Arrow fields, in schema order (every column nullable).
            pub(crate) fn fields() -> Vec<arrow_schema::Field> {
                vec![ $( arrow_schema::Field::new(
                    stringify!($name),
                    <$B as $crate::tables::Column>::data_type(),
                    true,
                ), )* ]
            }

            /// Builders for the columns of `schema` (a projection of the table) only.
            pub(crate) fn for_schema(schema: &arrow_schema::Schema) -> Self {
                let want = |n: &str| schema.fields().iter().any(|f| f.name() == n);
                $Cols { $( $name: want(stringify!($name)).then(<$B as Default>::default), )* }
            }

            /// Whether column `name` is being built.
            pub(crate) fn builds(&self, name: &str) -> bool {
                $( if name == stringify!($name) { return self.$name.is_some(); } )*
                false
            }

            /// Append one row to every projected column.
            #[inline]
            #[allow(unused_variables)]
            pub(crate) fn push(&mut self, row: &$Row) {
                $( if let Some($b) = self.$name.as_mut() { let $r = row; $fill; } )*
            }

            /// The arrays built since the last call, with their names.
            pub(crate) fn finish(&mut self) -> Vec<(&'static str, arrow_array::ArrayRef)> {
                let mut v = Vec::new();
                $( if let Some(b) = self.$name.as_mut() {
                    v.push((stringify!($name), $crate::tables::Column::finish_array(b)));
                } )*
                v
            }
        }
    };
}
pub(crate) use columns;

/// A batch of `schema` (a projection) from named arrays of `n` rows; a `file_path` column the
/// registry does not build (the `filename` option) repeats `path`.
pub(crate) fn batch(
    schema: &SchemaRef,
    mut built: Vec<(&'static str, ArrayRef)>,
    n: usize,
    path: &str,
) -> Result<RecordBatch, ArrowError> {
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let a = match built.iter().position(|(name, _)| name == f.name()) {
            Some(i) => built.swap_remove(i).1,
            None if f.name() == "file_path" => {
                Arc::new(StringArray::from_iter_values(std::iter::repeat_n(path, n))) as ArrayRef
            }
            None => {
                return Err(ArrowError::SchemaError(format!(
                    "column {} was not built",
                    f.name()
                )))
            }
        };
        arrays.push(a);
    }
    let opts = RecordBatchOptions::new().with_row_count(Some(n));
    RecordBatch::try_new_with_options(schema.clone(), arrays, &opts)
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    /// Every column of every registry has a doc, and no name is declared twice.
    #[test]
    fn every_column_is_documented_once() {
        let all: &[(&str, &[(&str, &str)])] = &[
            ("results", results::ResultCols::COLUMNS),
            ("parts", parts::PartCols::COLUMNS),
            ("tests", tests::TestCols::COLUMNS),
            ("bins", bins::BinCols::COLUMNS),
            ("wafers", wafers::WaferCols::COLUMNS),
            ("files", files::FileCols::COLUMNS),
            ("records", records::RecordCols::COLUMNS),
            ("warnings", warnings::WarningCols::COLUMNS),
        ];
        for (table, cols) in all {
            let mut names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            for (name, doc) in cols.iter() {
                assert!(!doc.trim().is_empty(), "stdf_{table}.{name} has no doc");
            }
            names.sort_unstable();
            let n = names.len();
            names.dedup();
            assert_eq!(names.len(), n, "stdf_{table} declares a column twice");
        }
    }
}
