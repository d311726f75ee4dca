//! One test per VADER rule, written GIVEN / WHEN / THEN. Expected numbers are the Python
//! reference's (vaderSentiment 3.3.2) output for the same sentence.

use std::sync::OnceLock;

use ks_lexicon::{Label, Polarity, Sentiment, Vader};

fn vader() -> &'static Vader {
    static VADER: OnceLock<Vader> = OnceLock::new();
    VADER.get_or_init(Vader::new)
}

fn compound(text: &str) -> f64 {
    vader().polarity_scores(text).compound
}

fn polarity(neg: f64, neu: f64, pos: f64, compound: f64) -> Polarity {
    Polarity {
        neg,
        neu,
        pos,
        compound,
    }
}

fn assert_sums_to_one(s: &Sentiment) {
    let sum = s.positive + s.negative + s.neutral + s.mixed;
    assert!((sum - 1.0).abs() < 1e-9, "scores sum to {sum}: {s:?}");
}

#[test]
fn given_a_lexicon_word_when_scored_then_its_valence_is_normalised() {
    // GIVEN a sentence with one positive lexicon word
    // WHEN it is scored
    let p = vader().polarity_scores("The soup is good.");
    // THEN compound and proportions are the reference's
    assert_eq!(p, polarity(0.0, 0.508, 0.492, 0.4404));
}

#[test]
fn given_a_negation_within_three_words_when_scored_then_the_valence_flips() {
    // GIVEN the same sentence negated by "not", by a contraction, and by "never"
    // WHEN each is scored
    // THEN each is negative, and the contraction counts as a negation too
    assert_eq!(
        vader().polarity_scores("The soup is not good."),
        polarity(0.376, 0.624, 0.0, -0.3412)
    );
    assert_eq!(
        vader().polarity_scores("The soup isn't good."),
        polarity(0.445, 0.555, 0.0, -0.3412)
    );
    assert_eq!(compound("The soup is never good."), -0.3412);
}

#[test]
fn given_never_so_or_never_this_when_scored_then_the_valence_is_boosted() {
    // GIVEN "never so/this" before a positive word
    // WHEN scored
    // THEN it is an emphasis, not a negation
    assert_eq!(compound("It was never so good."), 0.6626);
    assert_eq!(compound("It was never this good."), 0.6084);
}

#[test]
fn given_but_when_scored_then_the_clause_after_it_dominates() {
    // GIVEN a positive clause, "but", then a negative clause
    // WHEN scored
    let p = vader().polarity_scores("The soup is good, but the bread is awful.");
    // THEN the first clause is halved and the second weighs 1.5 times
    assert_eq!(p, polarity(0.309, 0.541, 0.151, -0.4678));
}

#[test]
fn given_an_all_caps_word_in_mixed_case_text_when_scored_then_it_is_emphasised() {
    // GIVEN one word in capitals among lowercase words, and a text all in capitals
    // WHEN scored
    // THEN only the mixed-case text gets the emphasis
    assert_eq!(compound("The soup is GOOD"), 0.5622);
    assert_eq!(compound("THE SOUP IS GOOD"), compound("The soup is good"));
}

#[test]
fn given_a_booster_or_dampener_when_scored_then_the_intensity_changes() {
    // GIVEN a booster, a booster in capitals, and dampeners
    // WHEN scored
    // THEN boosters raise and dampeners lower the base 0.4404
    assert_eq!(compound("The soup is very good"), 0.4927);
    assert_eq!(compound("The soup is VERY good"), 0.6028);
    assert_eq!(compound("The soup is kinda good"), 0.3832);
}

#[test]
fn given_kind_of_when_scored_then_it_dampens_like_kinda() {
    // GIVEN the two-word dampener "kind of"
    // WHEN scored
    let p = vader().polarity_scores("The soup is kind of good");
    // THEN the valence is damped and "kind"/"of" are neutral words
    assert_eq!(p, polarity(0.0, 0.657, 0.343, 0.3832));
}

#[test]
fn given_least_when_scored_then_it_negates_unless_at_least() {
    // GIVEN "the least good", "at least good" and a leading "least"
    // WHEN scored
    // THEN "least" negates except after "at" (or "very")
    assert_eq!(compound("It is the least good soup"), -0.3412);
    assert_eq!(compound("It is at least good soup"), 0.4404);
    assert_eq!(compound("least good"), -0.3412);
}

#[test]
fn given_idioms_when_scored_then_the_idiom_valence_replaces_the_word() {
    // GIVEN special-case idioms that contain negative lexicon words
    // WHEN scored
    // THEN the idiom's own valence applies
    assert_eq!(compound("Lunch here was the bomb"), 0.6124);
    assert_eq!(compound("Lunch here is bomb"), -0.4939);
    assert_eq!(compound("this bakery is the shit"), 0.6124);
    assert_eq!(compound("that was the kiss of death"), -0.6124);
}

#[test]
fn given_exclamation_and_question_marks_when_scored_then_the_sum_is_amplified() {
    // GIVEN one and many '!', two and four '?'
    // WHEN scored
    // THEN '!' adds up to four times, '?' from two on
    assert_eq!(compound("The soup is good!"), 0.4926);
    assert_eq!(compound("The soup is good!!!!!!"), 0.6209);
    assert_eq!(compound("The soup is good??"), 0.504);
    assert_eq!(compound("The soup is good????"), 0.594);
}

#[test]
fn given_emoji_when_scored_then_their_descriptions_are_scored() {
    // GIVEN emoji alone and inside text
    // WHEN scored
    // THEN they count through their emoji-lexicon descriptions
    assert_eq!(
        vader().polarity_scores("😀"),
        polarity(0.0, 0.286, 0.714, 0.3612)
    );
    assert_eq!(compound("I 😀 soup"), 0.3612);
    assert_eq!(
        vader().polarity_scores("I 💔 soup"),
        polarity(0.333, 0.215, 0.452, 0.2732)
    );
}

#[test]
fn given_empty_or_blank_text_when_scored_then_all_zero_and_neutral() {
    // GIVEN empty and whitespace-only texts
    for text in ["", "   ", "\u{a0}\t\n"] {
        // WHEN scored
        let p = vader().polarity_scores(text);
        let s = vader().sentiment(text);
        // THEN the reference's all-zero dict, and a fully neutral sentiment
        assert_eq!(p, polarity(0.0, 0.0, 0.0, 0.0));
        assert_eq!(
            s,
            Sentiment {
                label: Label::Neutral,
                positive: 0.0,
                negative: 0.0,
                neutral: 1.0,
                mixed: 0.0
            }
        );
    }
}

#[test]
fn given_a_text_longer_than_the_cap_when_scored_then_only_the_prefix_counts() {
    // GIVEN a neutral 5,000-byte prefix followed by strongly negative words
    let prefix = "the soup ".repeat(600);
    let prefix = &prefix[..5_000];
    let text = format!("{prefix} awful horrible terrible");
    // WHEN scored with the default cap and with a larger one
    let capped = Vader::new().polarity_scores(&text);
    let uncapped = Vader::with_max_bytes(10_000).polarity_scores(&text);
    // THEN the default ignores the tail, the larger cap sees it
    assert_eq!(capped.compound, 0.0);
    assert!(uncapped.compound < -0.05);
}

#[test]
fn given_a_cap_inside_a_multibyte_char_when_scored_then_the_cut_moves_back() {
    // GIVEN a cap that falls inside the 4-byte emoji
    let vader = Vader::with_max_bytes(6);
    // WHEN scored
    // THEN the emoji is dropped whole, leaving "good "
    assert_eq!(
        vader.polarity_scores("good 😀"),
        Vader::new().polarity_scores("good")
    );
}

#[test]
fn given_strong_positive_and_negative_words_when_labelled_then_mixed() {
    // GIVEN a text whose pos (0.291) and neg (0.213) proportions both reach 0.2
    let s = vader().sentiment("The food was great and the staff were awful");
    // THEN it is MIXED, the mixed score is the largest, and the scores sum to 1
    assert_eq!(s.label, Label::Mixed);
    assert!(
        s.mixed >= s.positive.max(s.negative).max(s.neutral),
        "{s:?}"
    );
    assert_sums_to_one(&s);
}

#[test]
fn given_compound_thresholds_when_labelled_then_the_reference_rule_applies() {
    // GIVEN polarities just at and inside the 0.05 thresholds
    let at_pos = Sentiment::from_polarity(&polarity(0.0, 0.9, 0.1, 0.05));
    let at_neg = Sentiment::from_polarity(&polarity(0.1, 0.9, 0.0, -0.05));
    let inside = Sentiment::from_polarity(&polarity(0.05, 0.9, 0.05, 0.0499));
    // THEN >= 0.05 is POSITIVE, <= -0.05 NEGATIVE, else NEUTRAL
    assert_eq!(at_pos.label, Label::Positive);
    assert_eq!(at_neg.label, Label::Negative);
    assert_eq!(inside.label, Label::Neutral);
    assert_eq!(Label::Positive.as_str(), "POSITIVE");
    assert_eq!(Label::Mixed.to_string(), "MIXED");
}

#[test]
fn given_any_label_when_scored_then_scores_sum_to_one_and_the_label_leads() {
    // GIVEN texts of every label
    for text in [
        "The soup is good.",
        "The soup is not good.",
        "The soup",
        "love hate good bad awful great",
    ] {
        // WHEN the sentiment is derived
        let s = vader().sentiment(text);
        // THEN the scores sum to 1 and the label's score is the largest
        assert_sums_to_one(&s);
        let label_score = match s.label {
            Label::Positive => s.positive,
            Label::Negative => s.negative,
            Label::Neutral => s.neutral,
            Label::Mixed => s.mixed,
        };
        let max = s.positive.max(s.negative).max(s.neutral).max(s.mixed);
        assert!((label_score - max).abs() < 1e-12, "{text}: {s:?}");
    }
}

#[test]
fn given_proportions_that_agree_with_the_label_when_scored_then_they_are_kept() {
    // GIVEN a positive text whose positive proportion is already the largest
    // ("I love it": pos 0.677, neu 0.323)
    let p = vader().polarity_scores("I love it");
    let s = Sentiment::from_polarity(&p);
    // THEN the scores are the proportions, unchanged
    assert_eq!(s.label, Label::Positive);
    assert!((s.positive - p.pos / (p.pos + p.neu + p.neg)).abs() < 1e-12);
    assert!((s.neutral - p.neu / (p.pos + p.neu + p.neg)).abs() < 1e-12);
    assert_eq!(s.mixed, 0.0);
}
