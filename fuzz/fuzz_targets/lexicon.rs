#![no_main]
// The property is ks_fuzz_checks::lexicon::check; `make test` replays the corpus through it.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ks_fuzz_checks::lexicon::check(data));
