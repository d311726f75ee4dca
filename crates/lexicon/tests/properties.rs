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

fn lexicon() -> &'static ks_lexicon::Lexicon {
    static LEXICON: OnceLock<ks_lexicon::Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| ks_lexicon::Lexicon::with_max_bytes(512))
}

/// Rule words of the es, de, it and nl analysers mixed with arbitrary text.
fn texty_eu() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("nicht gut".to_string()),
        Just("sehr schlecht!".to_string()),
        Just("non è bello".to_string()),
        Just("l'amore".to_string()),
        Just("niet slecht".to_string()),
        Just("'s ochtends".to_string()),
        Just("me encanta".to_string()),
        Just("( ! )".to_string()),
        Just(": c )".to_string()),
        Just("Mr.".to_string()),
        Just("...\n\n".to_string()),
        Just("“".to_string()),
        "\\PC{0,8}",
    ];
    prop::collection::vec(word, 0..40).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn given_any_string_when_scored_in_every_language_then_scores_are_well_formed(
        text in prop_oneof![any::<String>(), texty_eu()]
    ) {
        for (lang, _) in ks_lexicon::LANGUAGES {
            // WHEN the string is scored as this language (it must not panic)
            let s = lexicon().sentiment(lang, &text).expect("a supported language");
            // THEN the four scores are in [0, 1], sum to 1, and the label's is the largest
            let scores = [s.positive, s.negative, s.neutral, s.mixed];
            for x in scores {
                prop_assert!((0.0..=1.0).contains(&x), "{lang}: {s:?}");
            }
            let sum: f64 = scores.iter().sum();
            prop_assert!((sum - 1.0).abs() <= 1e-9, "{lang}: sum {sum}: {s:?}");
            let own = match s.label {
                Label::Positive => s.positive,
                Label::Negative => s.negative,
                Label::Neutral => s.neutral,
                Label::Mixed => s.mixed,
            };
            prop_assert!(scores.iter().all(|x| *x <= own + 1e-12), "{lang}: {s:?}");
        }
    }
}
