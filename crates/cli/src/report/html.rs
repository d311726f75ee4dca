//! The page and the plain-text summary.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};

use super::Scan;
use super::numbers::{grouped, pct};
use super::svg::*;
use super::{COLORS, LABELS};

/// The short text summary printed on stdout.
pub fn text_summary(scan: &Scan) -> String {
    let mut out = String::new();
    let total = scan.delivered.len() as u64;
    let _ = writeln!(
        out,
        "Delivered {} records in {} objects",
        grouped(total),
        scan.objects
    );
    for (label, n) in scan.label_counts() {
        let _ = writeln!(
            out,
            "  {label:<9} {:>8}  {:5.1}%",
            grouped(n),
            pct(n, total)
        );
    }
    out.push_str(&languages_text(scan));
    let _ = writeln!(
        out,
        "Failed    {} records in {} objects under the error prefixes",
        grouped(scan.failed.len() as u64),
        scan.error_objects
    );
    for (code, n) in scan.failure_codes() {
        let _ = writeln!(out, "  {code}: {}", grouped(n));
    }
    let h = scan.honoured();
    if h.deletions + h.still_there + h.accounts > 0 {
        let _ = writeln!(
            out,
            "Deletions honoured: {} of {} deleted posts gone; {} accounts purged ({} posts left)",
            grouped(h.deletions),
            grouped(h.deletions + h.still_there),
            grouped(h.accounts),
            grouped(h.account_posts_left)
        );
        if h.still_there + h.account_posts_left > 0 {
            let _ = writeln!(
                out,
                "Warning: deleted posts are still in the output: run `kinesis-sentiment purge --input <dir>`"
            );
        }
    }
    if !scan.bad_lines.is_empty() || !scan.unexpected_keys.is_empty() {
        let _ = writeln!(
            out,
            "Warning: {} lines that are not JSON, {} files outside Firehose's layout",
            scan.bad_lines.len(),
            scan.unexpected_keys.len()
        );
    }
    out
}

/// Per language: its records, and its share of each label (the unscored last).
fn languages_text(scan: &Scan) -> String {
    let mut out =
        String::from("By language   records  positive negative  neutral    mixed unscored\n");
    for (lang, counts) in scan.sentiment_by_language() {
        let n: u64 = counts.iter().sum();
        let _ = write!(out, "  {lang:<9} {:>9}", grouped(n));
        for c in counts {
            let _ = write!(out, " {:>7.1}%", pct(c, n));
        }
        out.push('\n');
    }
    out
}

const STYLE: &str = r#"
:root{--ink:#1c2433;--muted:#6b778c;--bg:#f4f6fa;--card:#fff;--line:#e6e9ef}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{background:linear-gradient(120deg,#16213a,#2b3f6b);color:#fff;padding:28px 40px 56px}
header h1{margin:0 0 4px;font-size:26px;font-weight:650;letter-spacing:-.01em}header p{margin:0;opacity:.75}
main{max-width:1120px;margin:-36px auto 40px;padding:0 24px;display:grid;gap:20px}
.card{background:var(--card);border-radius:14px;box-shadow:0 1px 2px rgba(20,30,50,.06),0 6px 24px rgba(20,30,50,.06);padding:22px 26px}
.card h2{margin:0 0 4px;font-size:17px}.card .sub{margin:0 0 14px;color:var(--muted);font-size:13px}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:20px}.kpi .v{font-size:30px;font-weight:700;letter-spacing:-.02em}.kpi .k{color:var(--muted);font-size:13px}
.row{display:grid;grid-template-columns:1.3fr 1fr;gap:20px}.mixrow{display:flex;gap:18px;align-items:center}
.legend{display:flex;gap:16px;flex-wrap:wrap;font-size:13px;color:var(--muted);margin-top:6px}.legend i{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:6px;vertical-align:-1px}
svg text{font-family:inherit}.axis{font-size:11px;fill:#8a94a6}.lbl{font-size:13px;fill:var(--ink);font-weight:600}.num{font-size:13px;fill:var(--ink);font-weight:600}.muted{fill:var(--muted);color:var(--muted);font-weight:400;font-size:12px}.big{font-size:30px;font-weight:700;fill:var(--ink)}
table{width:100%;border-collapse:collapse;font-size:13px}th{text-align:left;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:6px 8px}td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f8;padding:1px 5px;border-radius:4px;word-break:break-all}
.pill{display:inline-block;background:#fdecec;color:#b42318;border-radius:999px;padding:2px 10px;font-size:12px;font-weight:600}
.ok{background:#e7f6ee;color:#137a4b}footer{color:var(--muted);font-size:12px;text-align:center;padding-bottom:30px}
"#;

/// What the output did with its authors' deletions, when it has any.
fn deletions_card(scan: &Scan, out: &mut String) {
    let h = scan.honoured();
    if h.deletions + h.still_there + h.accounts == 0 {
        return;
    }
    let left = h.still_there + h.account_posts_left;
    let pill = if left == 0 {
        r#"<span class="pill ok">every deletion applied</span>"#.to_owned()
    } else {
        format!(
            r#"<span class="pill">{} deleted posts still here: run <code>kinesis-sentiment purge</code></span>"#,
            grouped(left)
        )
    };
    let _ = write!(
        out,
        r#"<section class="card"><h2>Deletions honoured: {}</h2><p class="sub">Posts their authors deleted, and the posts of accounts deleted or taken down, removed from the output by the purge.</p><p>{} of {} deleted posts gone · {} accounts purged · {pill}</p></section>"#,
        grouped(h.deletions),
        grouped(h.deletions),
        grouped(h.deletions + h.still_there),
        grouped(h.accounts),
    );
}

/// The self-contained HTML page.
pub fn html(scan: &Scan, input: &str) -> String {
    let total = scan.delivered.len() as u64;
    let counts = scan.label_counts();
    let scored: u64 = counts.iter().take(4).map(|c| c.1).sum();
    let failed = scan.failed.len() as u64;
    let generated = Utc::now().format("%Y-%m-%d %H:%M UTC");
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Sentiment report</title><style>{STYLE}</style></head><body><header><h1>Sentiment report</h1><p>{} · generated {generated}</p></header><main>"#,
        esc(input)
    );
    let positive = counts[0].1;
    let _ = write!(
        out,
        r#"<section class="card kpis"><div class="kpi"><div class="v">{}</div><div class="k">records delivered in {} objects</div></div><div class="kpi"><div class="v">{}</div><div class="k">scored ({:.0}% of delivered)</div></div><div class="kpi"><div class="v" style="color:{}">{:.0}%</div><div class="k">positive of scored</div></div><div class="kpi"><div class="v" style="color:{}">{}</div><div class="k">failed, under the error prefixes</div></div></section>"#,
        grouped(total),
        scan.objects,
        grouped(scored),
        pct(scored, total),
        COLORS[0],
        pct(positive, scored),
        if failed > 0 { COLORS[1] } else { COLORS[0] },
        grouped(failed)
    );
    deletions_card(scan, &mut out);
    let legend: String = LABELS
        .iter()
        .zip(COLORS)
        .take(4)
        .map(|(l, c)| format!(r#"<span><i style="background:{c}"></i>{l}</span>"#))
        .collect();
    match timeline(scan) {
        Some(tl) => {
            let basis = if tl.by_created { "the posts' created_at" } else { "the S3 hour prefix" };
            let _ = write!(
                out,
                r#"<section class="card"><h2>Sentiment mix over time</h2><p class="sub">Share of each label among scored records, per {} bucket by {basis}, {} to {} UTC. Hover a bar for counts.</p>{}<div class="legend">{legend}<span><i style="background:{}"></i>not scored (no analyser for its language, or no text)</span></div></section>"#,
                human_width(tl.width),
                utc_minute(tl.start),
                utc_minute(tl.start + tl.width * tl.counts.len() as i64),
                timeline_svg(&tl),
                COLORS[4]
            );
        }
        None => out.push_str(r#"<section class="card"><h2>Sentiment mix over time</h2><p class="sub">No delivered records.</p></section>"#),
    }
    let rows: Vec<(String, u64, &str)> = counts
        .iter()
        .zip(COLORS)
        .map(|((l, n), c)| ((*l).to_owned(), *n, c))
        .collect();
    let _ = write!(
        out,
        r#"<div class="row"><section class="card"><h2>Records per label</h2><p class="sub">All delivered records; UNSCORED ones pass through without a label.</p><div class="mixrow">{}<div style="flex:1">{}</div></div></section><section class="card"><h2>Sentiment by language</h2><p class="sub">Each language's records by label, scored offline by that language's analyser (the label's <code>model</code> names it); UNSCORED: no analyser for the language, or no text. Hover a bar for counts.</p>{}</section></div>"#,
        donut_svg(&counts),
        bars_svg(&rows, total),
        stacked_svg(&scan.sentiment_by_language())
    );
    out.push_str(&failures_html(scan));
    let _ = write!(
        out,
        r#"</main><footer>Read from {} delivered objects and {} error objects laid out as Firehose writes S3: <code>YYYY/MM/DD/HH/&lt;stream&gt;-1-YYYY-MM-DD-HH-MM-SS-&lt;uuid&gt;</code> and <code>processing-failed/…</code></footer></body></html>"#,
        scan.objects, scan.error_objects
    );
    out
}

fn utc_minute(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn human_width(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 && s > 86_400 => format!("{}-day", s / 86_400),
        s if s % 3_600 == 0 => format!("{}-hour", s / 3_600),
        s if s % 60 == 0 => format!("{}-minute", s / 60),
        s => format!("{s}-second"),
    }
}

fn failures_html(scan: &Scan) -> String {
    let mut out = String::from(r#"<section class="card"><h2>Failures</h2>"#);
    if scan.failed.is_empty() {
        out.push_str(
            r#"<p><span class="pill ok">none</span> Every record was delivered.</p></section>"#,
        );
        return out;
    }
    let _ = write!(
        out,
        r#"<p class="sub">{} records in {} objects under <code>processing-failed/</code> or <code>format-conversion-failed/</code>, with their original bytes in <code>rawData</code>.</p><table><tr><th>errorCode</th><th>records</th><th>errorMessage (first)</th></tr>"#,
        grouped(scan.failed.len() as u64),
        scan.error_objects
    );
    for (code, n) in scan.failure_codes() {
        let message = scan
            .failed
            .iter()
            .find(|f| f.record.error_code == code)
            .map_or("", |f| f.record.error_message.as_str());
        let _ = write!(
            out,
            r#"<tr><td><span class="pill">{}</span></td><td>{}</td><td>{}</td></tr>"#,
            esc(&code),
            grouped(n),
            esc(message)
        );
    }
    out.push_str(r#"</table><h2 style="margin-top:20px">Samples</h2><table><tr><th>arrival (UTC)</th><th>attempts</th><th>rawData, decoded (start … end)</th><th>object</th></tr>"#);
    for f in scan.failed.iter().take(5) {
        let raw = BASE64.decode(&f.record.raw_data).unwrap_or_default();
        let raw = String::from_utf8_lossy(&raw);
        let chars: Vec<char> = raw.chars().collect();
        // Start and end: a truncated or corrupted record usually shows it at its end.
        let text = if chars.len() <= 150 {
            raw.into_owned()
        } else {
            let head: String = chars[..100].iter().collect();
            let tail: String = chars[chars.len() - 40..].iter().collect();
            format!("{head} … {tail}")
        };
        let arrival = DateTime::from_timestamp_millis(f.record.arrival_timestamp)
            .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        let _ = write!(
            out,
            r#"<tr><td>{arrival}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>"#,
            f.record.attempts_made,
            esc(&text),
            esc(&f.key)
        );
    }
    out.push_str("</table></section>");
    out
}
