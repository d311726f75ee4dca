//! The Japanese segmentation dictionary the crate embeds (`data/ja/ipadic.vibrato.deflate`) is
//! Debian's `mecab-ipadic` source (CSV lexicon, matrix.def, char.def, unk.def, EUC-JP) compiled
//! into a vibrato dictionary and DEFLATE-compressed. It is committed, so a build needs nothing
//! outside the repository; this test compiles it again from the source and checks the bytes
//! (`KS_WRITE_JA_DICTIONARY=1` writes it). Only the columns segmentation needs are kept:
//! surface, connection ids and cost (the part-of-speech features become "*").
//!
//! The source directory is `MECAB_IPADIC_DIR`, else where `apt-get install mecab-ipadic` puts it
//! (`make ipadic` does that).

use std::fs;
use std::path::{Path, PathBuf};

const DIR_VAR: &str = "MECAB_IPADIC_DIR";
const DEFAULT_DIR: &str = "/usr/share/mecab/dic/ipadic";
/// miniz_oxide's level 6: within a few percent of level 9 on this data, much faster to build.
const DEFLATE_LEVEL: u8 = 6;

/// The committed dictionary, as `src/asari.rs` embeds it.
const COMMITTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/ja/ipadic.vibrato.deflate"
);

/// Set to write the dictionary instead of comparing it.
const WRITE_VAR: &str = "KS_WRITE_JA_DICTIONARY";

#[test]
#[ignore = "needs Debian's mecab-ipadic: `make unit` installs it (make ipadic) and runs this"]
fn the_committed_dictionary_is_the_one_debians_mecab_ipadic_compiles_to() {
    // GIVEN Debian's mecab-ipadic source dictionary
    let dir = std::env::var_os(DIR_VAR).map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from);
    // WHEN it is compiled the way asari's segmenter reads it
    let raw = compile(&dir);
    if std::env::var_os(WRITE_VAR).is_some() {
        let packed = miniz_oxide::deflate::compress_to_vec(&raw, DEFLATE_LEVEL);
        fs::write(COMMITTED, packed).expect("writing the dictionary");
    }
    // THEN it is, byte for byte, the dictionary the crate embeds
    let committed = fs::read(COMMITTED).expect("reading the committed dictionary");
    let committed = miniz_oxide::inflate::decompress_to_vec(&committed).expect("DEFLATE data");
    assert!(
        committed == raw,
        "data/ja/ipadic.vibrato.deflate differs from {} compiled ({} vs {} bytes): rerun with {WRITE_VAR}=1",
        dir.display(),
        committed.len(),
        raw.len()
    );
}

/// The vibrato system dictionary of the source in `dir`, serialised.
fn compile(dir: &Path) -> Vec<u8> {
    if !dir.join("matrix.def").is_file() {
        panic!(
            "ks-lexicon needs the mecab-ipadic source dictionary for Japanese and found no \
             matrix.def in {}: run `make ipadic` (apt-get install -y mecab-ipadic) or set {DIR_VAR} \
             to a directory holding its CSV files, matrix.def, char.def and unk.def",
            dir.display()
        );
    }
    let lexicon = read_lexicon(dir);
    let matrix = read_euc_jp(&dir.join("matrix.def"));
    let chars = janome_char_def(&read_euc_jp(&dir.join("char.def")));
    let unknown = read_euc_jp(&dir.join("unk.def"));
    let dictionary = vibrato::SystemDictionaryBuilder::from_readers(
        lexicon.as_bytes(),
        matrix.as_bytes(),
        chars.as_bytes(),
        unknown.as_bytes(),
    )
    .unwrap_or_else(|e| {
        panic!(
            "building the vibrato dictionary from {}: {e}",
            dir.display()
        )
    });
    let mut raw = Vec::new();
    dictionary
        .write(&mut raw)
        .expect("serialising the vibrato dictionary");
    raw
}

/// The file decoded as Python's `euc_jp` codec decodes it, which janome's dictionary was built
/// with: encoding_rs follows the WHATWG table, which maps six JIS X 0208 characters to their
/// Windows (CP932) code points instead; they are mapped back.
fn read_euc_jp(path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let (text, _, malformed) = encoding_rs::EUC_JP.decode(&bytes);
    assert!(!malformed, "{} is not EUC-JP", path.display());
    text.chars().map(jis_x_0208).collect()
}

/// WHATWG's EUC-JP code point → JIS X 0208's (Python's), for the six that differ.
fn jis_x_0208(c: char) -> char {
    match c {
        '\u{FF5E}' => '\u{301C}', // WAVE DASH
        '\u{2225}' => '\u{2016}', // DOUBLE VERTICAL LINE
        '\u{FF0D}' => '\u{2212}', // MINUS SIGN
        '\u{FFE0}' => '\u{00A2}', // CENT SIGN
        '\u{FFE1}' => '\u{00A3}', // POUND SIGN
        '\u{FFE2}' => '\u{00AC}', // NOT SIGN
        other => other,
    }
}

/// Every `*.csv` of the directory in name order, each entry cut to surface, ids and cost.
fn read_lexicon(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no CSV lexicon files in {}",
        dir.display()
    );
    let mut lexicon = String::new();
    for file in files {
        for line in read_euc_jp(&file).lines().filter(|l| !l.is_empty()) {
            let fields: Vec<&str> = line.splitn(5, ',').collect();
            assert!(
                fields.len() == 5,
                "{}: not an entry: {line}",
                file.display()
            );
            lexicon.push_str(&fields[..4].join(","));
            lexicon.push_str(",*\n");
        }
    }
    lexicon
}

/// janome (asari's segmenter) generates unknown words differently from MeCab (and vibrato):
/// for a grouping category one word of the whole run, its length ignored; for any other, one
/// word of the longest run up to length + 1 characters (its loop bound is one past MeCab's).
/// MeCab adds words of 1..=length characters besides. So a grouping category's length becomes 0,
/// and another's length + 1: vibrato's candidates are then janome's plus, for the second kind
/// (only KANJI in IPADIC), the shorter runs, which the path costs almost never pick.
fn janome_char_def(char_def: &str) -> String {
    let mut out = String::with_capacity(char_def.len());
    for line in char_def.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let is_category = fields.len() >= 4 && !line.starts_with(['#', '0']);
        match (
            is_category,
            fields.get(2),
            fields.get(3).map(|l| l.parse::<u32>()),
        ) {
            (true, Some(&"1"), Some(Ok(_))) => {
                out.push_str(&format!("{} {} 1 0\n", fields[0], fields[1]));
            }
            (true, Some(&"0"), Some(Ok(length))) if length > 0 => {
                out.push_str(&format!("{} {} 0 {}\n", fields[0], fields[1], length + 1));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}
