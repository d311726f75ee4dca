//! Empty: present so that the `[build-dependencies]` in Cargo.toml unify the host crates.
fn main() {}
