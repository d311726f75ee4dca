//! What the agreement tests (English in `agreement.rs`, the ports in `languages.rs`) share: a
//! reference's scores, its label, and how a port's answer is compared with them.

use ks_lexicon::Polarity;
use serde::Deserialize;

/// The four scores a reference answers for one text.
#[derive(Deserialize, Clone, Copy)]
pub struct Scores {
    pub neg: f64,
    pub neu: f64,
    pub pos: f64,
    pub compound: f64,
}

/// VADER's three-way reading of compound (the reference's own).
pub fn label(compound: f64) -> &'static str {
    if compound >= 0.05 {
        "POSITIVE"
    } else if compound <= -0.05 {
        "NEGATIVE"
    } else {
        "NEUTRAL"
    }
}

/// Same rounded numbers; the tolerance only absorbs a last-bit difference in JSON parsing.
pub fn identical(a: &Polarity, g: &Scores) -> bool {
    const EPS: f64 = 1e-9;
    (a.neg - g.neg).abs() < EPS
        && (a.neu - g.neu).abs() < EPS
        && (a.pos - g.pos).abs() < EPS
        && (a.compound - g.compound).abs() < EPS
}
