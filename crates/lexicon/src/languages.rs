//! [`Lexicon`]: one offline analyser per language behind the transform's one trait. Each
//! language's tables are parsed the first time a text of that language arrives (a `OnceLock`
//! each), so a cold start pays for none of them and a function that sees only English never
//! parses the others.

use std::sync::OnceLock;

use ks_transform::sentiment::{Analysis, SentimentAnalyzer};

use crate::analyzer::{LEXICON_BATCH_DOCUMENTS, to_core};
use crate::{
    Asari, DEFAULT_MAX_BYTES, Leia, Pattern, PatternLanguage, Polarity, Sentiment, SpanishNb,
    Vader, VaderFr, truncate,
};

/// The languages [`Lexicon`] scores (normalised, Comprehend-style codes) and the model name
/// written next to each result.
pub const LANGUAGES: [(&str, &str); 8] = [
    ("en", "lexicon:en-vader"),
    ("pt", "lexicon:pt-leia"),
    ("fr", "lexicon:fr-vader"),
    ("es", "lexicon:es-nb"),
    ("de", "lexicon:de-textblob"),
    ("it", "lexicon:it-pattern"),
    ("nl", "lexicon:nl-pattern"),
    ("ja", "lexicon:ja-asari"),
];

/// The multilingual lexicon backend: English VADER, Portuguese LeIA, French vaderSentiment-fr,
/// Spanish Naive Bayes (sentiment-analysis-spanish), German, Italian and Dutch Pattern,
/// Japanese asari.
#[derive(Default)]
pub struct Lexicon {
    max_bytes: usize,
    en: OnceLock<Vader>,
    pt: OnceLock<Leia>,
    fr: OnceLock<VaderFr>,
    es: OnceLock<SpanishNb>,
    de: OnceLock<Pattern>,
    it: OnceLock<Pattern>,
    nl: OnceLock<Pattern>,
    ja: OnceLock<Asari>,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("max_bytes", &self.max_bytes)
            .field("en_loaded", &self.en.get().is_some())
            .field("pt_loaded", &self.pt.get().is_some())
            .field("fr_loaded", &self.fr.get().is_some())
            .field("es_loaded", &self.es.get().is_some())
            .field("de_loaded", &self.de.get().is_some())
            .field("it_loaded", &self.it.get().is_some())
            .field("nl_loaded", &self.nl.get().is_some())
            .field("ja_loaded", &self.ja.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Lexicon {
    /// Every language, each text cut to [`DEFAULT_MAX_BYTES`].
    pub fn new() -> Self {
        Self::with_max_bytes(DEFAULT_MAX_BYTES)
    }

    /// Every language, each text cut to `max_bytes` (on a char boundary). Parses nothing yet.
    pub fn with_max_bytes(max_bytes: usize) -> Self {
        Lexicon {
            max_bytes,
            en: OnceLock::new(),
            pt: OnceLock::new(),
            fr: OnceLock::new(),
            es: OnceLock::new(),
            de: OnceLock::new(),
            it: OnceLock::new(),
            nl: OnceLock::new(),
            ja: OnceLock::new(),
        }
    }

    /// The VADER polarity of `text` by `language`'s analyser (en, pt, fr), or `None` for a
    /// language without a VADER-style analyser.
    pub fn polarity_scores(&self, language: &str, text: &str) -> Option<Polarity> {
        let text = truncate(text, self.max_bytes);
        Some(match language {
            "en" => self.en().polarity_scores(text),
            "pt" => self.pt().polarity_scores(text),
            "fr" => self.fr().polarity_scores(text),
            _ => return None,
        })
    }

    /// Label and four scores (see [`Sentiment::from_polarity`]), or `None` for a language
    /// without an analyser.
    pub fn sentiment(&self, language: &str, text: &str) -> Option<Sentiment> {
        let cut = truncate(text, self.max_bytes);
        match language {
            "es" => Some(self.es.get_or_init(SpanishNb::new).sentiment(cut)),
            "de" | "it" | "nl" => self.pattern(language).map(|p| p.sentiment(cut)),
            "ja" => Some(self.ja.get_or_init(Asari::new).sentiment(cut)),
            _ => self
                .polarity_scores(language, text)
                .map(|p| Sentiment::from_polarity(&p)),
        }
    }

    /// The Pattern analyser of `language` (de, it, nl), parsed on first use.
    fn pattern(&self, language: &str) -> Option<&Pattern> {
        let (cell, lang) = match language {
            "de" => (&self.de, PatternLanguage::De),
            "it" => (&self.it, PatternLanguage::It),
            "nl" => (&self.nl, PatternLanguage::Nl),
            _ => return None,
        };
        Some(cell.get_or_init(|| Pattern::new(lang)))
    }

    /// Whether `language`'s tables have been parsed yet.
    pub fn is_loaded(&self, language: &str) -> bool {
        match language {
            "en" => self.en.get().is_some(),
            "pt" => self.pt.get().is_some(),
            "fr" => self.fr.get().is_some(),
            "es" => self.es.get().is_some(),
            "de" => self.de.get().is_some(),
            "it" => self.it.get().is_some(),
            "nl" => self.nl.get().is_some(),
            "ja" => self.ja.get().is_some(),
            _ => false,
        }
    }

    fn en(&self) -> &Vader {
        // The texts are already cut; Vader's own cap is set past them.
        self.en.get_or_init(|| Vader::with_max_bytes(usize::MAX))
    }

    fn pt(&self) -> &Leia {
        self.pt.get_or_init(Leia::new)
    }

    fn fr(&self) -> &VaderFr {
        self.fr.get_or_init(VaderFr::new)
    }
}

impl SentimentAnalyzer for Lexicon {
    fn model(&self) -> &str {
        "lexicon"
    }

    fn model_for(&self, language: &str) -> &str {
        LANGUAGES
            .iter()
            .find(|(l, _)| *l == language)
            .map_or("lexicon", |(_, model)| model)
    }

    fn supports_language(&self, language: &str) -> bool {
        LANGUAGES.iter().any(|(l, _)| *l == language)
    }

    fn max_batch_documents(&self) -> usize {
        LEXICON_BATCH_DOCUMENTS
    }

    fn is_remote(&self) -> bool {
        false
    }

    async fn analyze(&self, language: &str, texts: &[&str]) -> Analysis {
        let scored = texts.iter().map(|t| {
            let s = self
                .sentiment(language, t)
                .expect("the transform sends only supported languages");
            Ok(to_core(s))
        });
        Analysis::from(Ok(scored.collect()))
    }
}
