//! Property tests: whatever the input, the analyzer returns well-formed scores.

use std::sync::OnceLock;

use ks_lexicon::{Label, Vader};
use proptest::prelude::*;

fn vader() -> &'static Vader {
    static VADER: OnceLock<Vader> = OnceLock::new();
    VADER.get_or_init(|| Vader::with_max_bytes(512))
}

/// Words that trigger rules, mixed with arbitrary text, so that the rules are exercised
/// and not only the tokenizer.
fn texty() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("good".to_string()),
        Just("BAD".to_string()),
        Just("not".to_string()),
        Just("but".to_string()),
        Just("least".to_string()),
        Just("kind of".to_string()),
        Just("never so".to_string()),
        Just("the bomb".to_string()),
        Just("no".to_string()),
        Just("very".to_string()),
        Just("😀".to_string()),
        Just("!!!".to_string()),
        Just("??".to_string()),
        "\\PC{0,8}",
    ];
    prop::collection::vec(word, 0..40).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn given_any_string_when_scored_then_scores_are_well_formed(
        text in prop_oneof![any::<String>(), texty()]
    ) {
        // WHEN any string is scored (it must not panic)
        let p = vader().polarity_scores(&text);
        let s = vader().sentiment(&text);

        // THEN compound is in [-1, 1], proportions in [0, 1]
        prop_assert!((-1.0..=1.0).contains(&p.compound), "{p:?}");
        for x in [p.neg, p.neu, p.pos] {
            prop_assert!((0.0..=1.0).contains(&x), "{p:?}");
        }
        // AND the four scores are in [0, 1] and sum to 1
        for x in [s.positive, s.negative, s.neutral, s.mixed] {
            prop_assert!((0.0..=1.0).contains(&x), "{s:?}");
        }
        let sum = s.positive + s.negative + s.neutral + s.mixed;
        prop_assert!((sum - 1.0).abs() <= 1e-9, "sum {sum}: {s:?}");
        // AND the label agrees with compound unless the text is mixed
        match s.label {
            Label::Positive => prop_assert!(p.compound >= 0.05),
            Label::Negative => prop_assert!(p.compound <= -0.05),
            Label::Neutral => prop_assert!(p.compound.abs() < 0.05),
            Label::Mixed => prop_assert!(p.pos >= 0.2 && p.neg >= 0.2),
        }
    }
}
