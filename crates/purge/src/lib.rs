//! The purge engine: what a responsible lake does with what its authors delete.
