//! Code shared by integration tests (and, by path, the fuzz targets).
pub mod jsgen;
