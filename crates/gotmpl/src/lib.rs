//! gotmpl
