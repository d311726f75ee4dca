//! The language of a record that carries no language tag, identified from its text.
//!
//! `whatlang` (MIT, trigram profiles, no data to load) answers among the languages the
//! analyzer can score, so a guess never lands on a language that would leave the text
//! unscored. Short texts are hard for any identifier: whatlang flags a guess as reliable only
//! when its profile stands well clear of the runner-up, and those guesses are almost always
//! right. [`LanguageDetection::Reliable`] (the default) uses only those and falls back to
//! `DEFAULT_LANGUAGE` otherwise; [`LanguageDetection::Best`] takes every guess.

use whatlang::{Detector, Lang};

use crate::sentiment::SentimentAnalyzer;

/// What to do with a record that has no language tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LanguageDetection {
    /// Always the default language (the behaviour before identification existed).
    Off,
    /// The identified language when the identifier is confident, else the default language.
    Reliable,
    /// The identified language whenever there is a guess, else the default language.
    Best,
}

impl LanguageDetection {
    /// The setting's value that chooses this.
    pub fn as_str(self) -> &'static str {
        match self {
            LanguageDetection::Off => "off",
            LanguageDetection::Reliable => "reliable",
            LanguageDetection::Best => "best",
        }
    }
}

/// whatlang's languages and the codes the transform uses for them (Comprehend-style, see
/// [`crate::text::normalize_language`]). Mandarin stands for `zh`: an identifier cannot tell
/// the traditional script's `zh-TW` apart by trigrams alone.
const LANGS: [(Lang, &str); 12] = [
    (Lang::Eng, "en"),
    (Lang::Por, "pt"),
    (Lang::Fra, "fr"),
    (Lang::Spa, "es"),
    (Lang::Deu, "de"),
    (Lang::Ita, "it"),
    (Lang::Nld, "nl"),
    (Lang::Jpn, "ja"),
    (Lang::Ara, "ar"),
    (Lang::Hin, "hi"),
    (Lang::Kor, "ko"),
    (Lang::Cmn, "zh"),
];

/// Identifies a text's language among those an analyzer supports.
pub struct Identifier {
    mode: LanguageDetection,
    /// `None` when detection is off or the analyzer supports none of whatlang's languages.
    detector: Option<Detector>,
}

impl Identifier {
    pub fn new<A: SentimentAnalyzer>(analyzer: &A, mode: LanguageDetection) -> Self {
        let allowed: Vec<Lang> = LANGS
            .iter()
            .filter(|(_, code)| analyzer.supports_language(code))
            .map(|(lang, _)| *lang)
            .collect();
        let detector = (mode != LanguageDetection::Off && !allowed.is_empty())
            .then(|| Detector::with_allowlist(allowed));
        Identifier { mode, detector }
    }

    /// The language of `text`, if identified under this mode.
    pub fn identify(&self, text: &str) -> Option<&'static str> {
        let info = self.detector.as_ref()?.detect(text)?;
        if self.mode == LanguageDetection::Reliable && !info.is_reliable() {
            return None;
        }
        LANGS
            .iter()
            .find(|(lang, _)| *lang == info.lang())
            .map(|(_, code)| *code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentiment::Analysis;

    /// An analyzer that reads `0`'s languages and is never called.
    struct Reads(&'static [&'static str]);

    impl SentimentAnalyzer for Reads {
        fn model(&self) -> &str {
            "test"
        }
        fn supports_language(&self, language: &str) -> bool {
            self.0.contains(&language)
        }
        fn max_batch_documents(&self) -> usize {
            1
        }
        fn is_remote(&self) -> bool {
            false
        }
        async fn analyze(&self, _: &str, _: &[&str]) -> Analysis {
            unreachable!("identification never scores")
        }
    }

    fn only(languages: &'static [&'static str]) -> Reads {
        Reads(languages)
    }

    const PORTUGUESE: &str = "Hoje o dia está lindo e eu estou muito feliz com a minha família, obrigado a todos pelo carinho";
    const GERMAN: &str = "Heute ist ein wunderschöner Tag und ich freue mich sehr über die Nachrichten von meiner Familie";

    #[test]
    fn a_confident_guess_names_the_language() {
        // GIVEN an analyzer of en, pt and de
        let id = Identifier::new(&only(&["en", "pt", "de"]), LanguageDetection::Reliable);
        // WHEN long, unambiguous texts are identified
        // THEN each gets its language
        assert_eq!(id.identify(PORTUGUESE), Some("pt"));
        assert_eq!(id.identify(GERMAN), Some("de"));
    }

    #[test]
    fn guesses_stay_among_the_analyzers_languages() {
        // GIVEN an analyzer of en and pt only
        let id = Identifier::new(&only(&["en", "pt"]), LanguageDetection::Best);
        // WHEN a German text is identified
        // THEN the answer is one of the analyzer's languages, never de
        assert!(matches!(id.identify(GERMAN), Some("en" | "pt")));
    }

    #[test]
    fn reliable_mode_declines_a_text_too_short_to_tell() {
        // GIVEN the reliable mode and a two-word text
        let id = Identifier::new(
            &only(&["en", "pt", "fr", "es"]),
            LanguageDetection::Reliable,
        );
        // WHEN it is identified
        // THEN there is no answer (the default language applies), while best mode guesses
        assert_eq!(id.identify("ok sim"), None);
        let best = Identifier::new(&only(&["en", "pt", "fr", "es"]), LanguageDetection::Best);
        assert!(best.identify("ok sim").is_some());
    }

    #[test]
    fn off_never_answers() {
        let id = Identifier::new(&only(&["en", "pt"]), LanguageDetection::Off);
        assert_eq!(id.identify(PORTUGUESE), None);
    }
}
