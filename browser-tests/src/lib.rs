//! Real-browser tests (see tests/).
