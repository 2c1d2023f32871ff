//! See the crate documentation; filled in by the xenstore work of issue 12.
