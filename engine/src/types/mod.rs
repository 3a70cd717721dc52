//! Representations of the collection types, one file per type.

pub(crate) mod list;
