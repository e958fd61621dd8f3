//! Lib tests of the job set.
