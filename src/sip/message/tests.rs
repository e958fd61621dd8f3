//! Unit tests of the scanner, framer and builders.
