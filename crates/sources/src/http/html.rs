//! Mastodon statuses are HTML; the transform looks for plain text. Tags are dropped (paragraphs
//! and line breaks become newlines), character references decoded.

/// The plain text of an HTML fragment.
pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        let Some(gt) = rest[lt..].find('>') else {
            // A stray '<' with no tag after it is text.
            out.push_str(&decode_entities(&rest[lt..]));
            rest = "";
            break;
        };
        let tag = rest[lt + 1..lt + gt].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match (name.as_str(), tag.starts_with('/')) {
            ("br", _) => out.push('\n'),
            ("p", true) | ("li", true) | ("blockquote", true) => out.push_str("\n\n"),
            _ => {}
        }
        rest = &rest[lt + gt + 1..];
    }
    out.push_str(&decode_entities(rest));
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    lines.join("\n").trim().replace("\n\n\n", "\n\n")
}

/// Decodes `&name;`, `&#NNN;` and `&#xHH;`; unknown references are kept as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|&semi| semi <= 32).and_then(|semi| {
            let name = &after[..semi];
            let c = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse::<u32>().ok().and_then(char::from_u32)
            } else {
                named(name)
            };
            c.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn named(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "euro" => '€',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "middot" => '·',
        "bull" => '•',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodon_markup_becomes_plain_text() {
        // GIVEN a status as Mastodon renders it: paragraphs, a link with invisible spans, a hashtag
        let html = "<p>I &lt;3 this &amp; that&#39;s great! 🎉</p><p>Read <a href=\"https://x.example/a\" rel=\"nofollow\"><span class=\"invisible\">https://</span><span>x.example/a</span></a><br/>by <a href=\"https://m.example/tags/rust\" class=\"mention hashtag\">#<span>rust</span></a></p>";
        // THEN tags go, entities decode, paragraphs and breaks become newlines
        assert_eq!(
            to_text(html),
            "I <3 this & that's great! 🎉\n\nRead https://x.example/a\nby #rust"
        );
    }

    #[test]
    fn references_decode_and_unknown_ones_stay() {
        assert_eq!(
            decode_entities("caf&#233; &#x1F600; &euro;5 &bogus; AT&T &"),
            "café 😀 €5 &bogus; AT&T &"
        );
        assert_eq!(to_text("a < b"), "a < b");
        assert_eq!(to_text(""), "");
        assert_eq!(to_text("<p></p>"), "");
    }
}
