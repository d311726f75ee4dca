//! The firehose-transform Lambda: settings and clients once, then one handler call per batch.

ks_lambda::main!(
    firehose_transform::State,
    ks_kernel::log::init,
    "invalid configuration"
);
