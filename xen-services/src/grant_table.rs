//! See the crate documentation; filled in by the grant_table work of issue 12.
