//! Layout: no code. This crate exists for its `Cargo.toml`, which asks for one feature set of
//! the third-party crates that the binaries share, so every build compiles them once.
