//! Scoring allocates nothing once the per-thread buffers are warm: counted with a global
//! allocator that tallies the allocations of the current thread only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ks_lexicon::{Pattern, PatternLanguage, SpanishNb, Vader};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialised thread-local `Cell`, which itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn given_warm_buffers_when_scoring_texts_then_nothing_is_allocated() {
    // GIVEN an analyzer and texts with emoji, caps, "but", idioms and a long text
    let vader = Vader::new();
    let long = "good but BAD 😀 ".repeat(600);
    let texts = [
        "The soup is good, but the bread is AWFUL!!! 😀💔",
        "It is the least good soup, kind of the kiss of death :( #fail @you http://x.io",
        "Lunch here was the bomb, never so good?? Ç'est très bon",
        long.as_str(),
        "",
    ];
    for t in &texts {
        vader.sentiment(t);
    }

    // WHEN they are scored again
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..100 {
        for t in &texts {
            std::hint::black_box(vader.sentiment(std::hint::black_box(t)));
        }
    }
    let after = ALLOCATIONS.with(Cell::get);

    // THEN no allocation happened
    assert_eq!(after - before, 0);
}

#[test]
fn given_warm_buffers_when_es_de_it_nl_texts_are_scored_then_nothing_is_allocated() {
    // GIVEN the Spanish and Pattern analysers and texts with accents, emoji, emoticons split
    // by punctuation, abbreviations, sentence and paragraph breaks (no apostrophe: the
    // contraction rules rewrite such a text, the one case that allocates)
    let es = SpanishNb::new();
    let pattern = [
        Pattern::new(PatternLanguage::De),
        Pattern::new(PatternLanguage::It),
        Pattern::new(PatternLanguage::Nl),
    ];
    let texts = [
        "¡Me encanta! El servicio fue EXCELENTE, pero la comida... horrible 😡 #mal @x",
        "Das ist nicht gut!!! Mr. X war wirklich schrecklich... :-) z.B. toll\n\nNein.",
        "Non è bello, davvero orribile (ma il prof. è bravo) :( 😍",
        "Dit is geen mooie film. Heel erg goed! :D ... “prachtig”",
        "",
    ];
    let score_all = || {
        for t in &texts {
            std::hint::black_box(es.sentiment(std::hint::black_box(t)));
            for p in &pattern {
                std::hint::black_box(p.sentiment(std::hint::black_box(t)));
            }
        }
    };
    score_all();

    // WHEN they are scored again
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..100 {
        score_all();
    }
    let after = ALLOCATIONS.with(Cell::get);

    // THEN no allocation happened
    assert_eq!(after - before, 0);
}
