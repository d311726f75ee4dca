//! What every AWS adapter shares: the one classifier of SDK errors ([`errors`]).

pub mod errors;
