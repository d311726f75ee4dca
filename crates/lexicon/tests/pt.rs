//! LeIA's two known bugs, the decision on each, and the multilingual backend's choice of
//! analyser and model name.

use ks_lexicon::{Label, Leia, LeiaFix, Lexicon, Sentiment};
use ks_transform::sentiment::SentimentAnalyzer;

fn label(leia: &Leia, text: &str) -> Label {
    Sentiment::from_polarity(&leia.polarity_scores(text)).label
}

#[test]
fn given_a_negated_sentence_when_scored_then_nao_negates_as_the_fix_decides() {
    // GIVEN "Eu não estou feliz" (I am not happy), where the published LeIA lets `nao`, a
    // lexicon word itself, block its own negation
    let text = "Eu não estou feliz";
    // WHEN scored by the published rules and by the shipped port
    let published = Leia::with_fixes(&[]).polarity_scores(text);
    let shipped = Leia::new();
    // THEN the published one calls it positive (+0.4404) and the port negative
    assert_eq!(published.compound, 0.4404);
    assert_eq!(label(&shipped, text), Label::Negative);
    assert_eq!(
        label(&Leia::with_fixes(&[LeiaFix::NegationWordInLexicon]), text),
        Label::Negative
    );
}

#[test]
fn given_pessimo_with_or_without_accent_when_scored_then_the_supplement_makes_it_negative() {
    // GIVEN "Péssimo" (terrible), absent from LeIA's lexicon
    for text in ["Péssimo", "pessimo", "PÉSSIMO!!!", "Atendimento péssima"] {
        // WHEN scored by the published rules and by the shipped port
        let published = Leia::with_fixes(&[]);
        let shipped = Leia::new();
        // THEN the published one finds nothing; the port's supplement (-2.1, VADER's
        // "terrible") makes it negative, accents folded as LeIA folds every word
        assert_eq!(label(&published, text), Label::Neutral, "{text}");
        assert_eq!(label(&shipped, text), Label::Negative, "{text}");
    }
}

#[test]
fn given_accented_lexicon_words_when_scored_then_they_match_their_unaccented_entries() {
    // GIVEN accented words whose entries LeIA stores without accents ("otimo", "horrivel")
    let leia = Leia::new();
    // WHEN scored THEN the accents do not matter
    assert_eq!(leia.polarity_scores("ótimo"), leia.polarity_scores("otimo"));
    assert_eq!(label(&leia, "O filme é ótimo"), Label::Positive);
    assert_eq!(label(&leia, "que dia horrível"), Label::Negative);
}

#[tokio::test]
async fn given_texts_in_several_languages_when_analysed_then_each_has_its_analyser_and_model() {
    // GIVEN the multilingual backend, nothing parsed yet
    let lexicon = Lexicon::new();
    assert!(!lexicon.is_loaded("en") && !lexicon.is_loaded("pt"));
    // WHEN Portuguese texts are analysed
    let out = lexicon
        .analyze("pt", &["Eu estou feliz", "Eu não estou feliz"])
        .await
        .outcome
        .unwrap();
    // THEN LeIA scored them, only its tables were parsed, and the model names it
    let labels: Vec<Label> = out.iter().map(|r| r.as_ref().unwrap().label).collect();
    assert_eq!(labels, [Label::Positive, Label::Negative]);
    assert!(lexicon.is_loaded("pt") && !lexicon.is_loaded("en"));
    assert_eq!(lexicon.model_for("pt"), "lexicon:pt-leia");
    assert_eq!(lexicon.model_for("en"), "lexicon:en-vader");
    // AND English goes to VADER, while a language without an analyser is not supported
    assert!(lexicon.supports_language("en") && lexicon.supports_language("pt"));
    assert!(!lexicon.supports_language("ko") && !lexicon.supports_language("zh"));
    let en = lexicon.sentiment("en", "I love it").unwrap();
    assert_eq!(en.label, Label::Positive);
    assert!(lexicon.sentiment("zh", "很好").is_none());
}
