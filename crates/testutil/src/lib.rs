//! testutil
