//! The stream-producer Lambda: settings and clients once, then one handler call per schedule tick.

ks_lambda::main!(stream_producer::State, ks_kernel::log::init, "cannot start");
