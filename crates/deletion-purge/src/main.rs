//! The deletion-purge Lambda: settings and the S3 client once, then one purge per schedule tick.

ks_lambda::main!(deletion_purge::State, ks_kernel::log::init, "cannot start");
