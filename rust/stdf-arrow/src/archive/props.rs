//! Parquet writer settings of the archive's files.

use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

/// Rows per row group of a results file: a query for one test reads one or two row groups
/// (min/max statistics on the sorted test_num), and a file still splits across threads.
pub(crate) const RESULTS_ROW_GROUP: usize = 256 * 1024;

fn base() -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("valid level"),
        ))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_coerce_types(true)
}

/// Rows per row group of a parts file: the writer holds one row group's encoded pages, so a
/// file of millions of parts is written in bounded memory (and read by several threads).
pub(crate) const PARTS_ROW_GROUP: usize = 128 * 1024;

/// The small tables (tests, bins, wafers, files, warnings, result_params).
pub(crate) fn table_props() -> WriterProperties {
    base().build()
}

/// The parts rows.
pub(crate) fn parts_props() -> WriterProperties {
    base()
        .set_max_row_group_row_count(Some(PARTS_ROW_GROUP))
        .build()
}

/// The results rows: values and ordinals without dictionaries (they rarely repeat), ordinals
/// delta-encoded (they grow within a test).
pub(crate) fn results_props() -> WriterProperties {
    let mut b = base().set_max_row_group_row_count(Some(RESULTS_ROW_GROUP));
    for col in [
        "result",
        "input_value",
        "head_num",
        "site_num",
        "test_num",
        "param_id",
        "element_index",
        "pin_index",
        "rtn_stat",
    ] {
        b = b.set_column_dictionary_enabled(ColumnPath::from(col), false);
    }
    for col in ["record_index", "part_index"] {
        b = b
            .set_column_dictionary_enabled(ColumnPath::from(col), false)
            .set_column_encoding(ColumnPath::from(col), Encoding::DELTA_BINARY_PACKED);
    }
    // strings: no min/max (compared per value, and no query prunes on them)
    for col in ["file_id", "test_txt", "pin_name"] {
        b = b.set_column_statistics_enabled(ColumnPath::from(col), EnabledStatistics::None);
    }
    b.build()
}
