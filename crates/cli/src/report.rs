//! `report`: reads a Firehose output directory back (delivered NDJSON or Parquet objects, and
//! the error records under `processing-failed/` and `format-conversion-failed/`) and renders one
//! self-contained HTML page with inline SVG.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};

use crate::bucket::{LocalBucket, Output, PARQUET_EXTENSION, parse_key};
use crate::firehose::ErrorRecord;
use crate::output::ConversionErrorRecord;
use crate::parquet;

/// The labels in display order; records without one are `UNSCORED` (another language, no text).
pub const LABELS: [&str; 5] = ["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED", "UNSCORED"];
const COLORS: [&str; 5] = ["#1f9d6b", "#e5484d", "#7f8ea8", "#f0a020", "#cfd5df"];

/// One delivered record.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub key: String,
    pub id: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub lang: Option<String>,
    /// `None` when the record has no sentiment label.
    pub label: Option<String>,
    /// The object's `YYYY/MM/DD/HH` prefix.
    pub hour: DateTime<Utc>,
}

/// One error record from `processing-failed/` or `format-conversion-failed/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub key: String,
    pub record: ErrorRecord,
}

/// Everything read from the output.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub delivered: Vec<Delivered>,
    pub failed: Vec<Failed>,
    pub objects: usize,
    pub error_objects: usize,
    /// Lines that are not JSON objects (key, 1-based line).
    pub bad_lines: Vec<(String, usize)>,
    /// Files below the top level whose key is not Firehose's layout.
    pub unexpected_keys: Vec<String>,
}

impl Scan {
    /// Delivered records per label, every label present (in [`LABELS`] order).
    pub fn label_counts(&self) -> Vec<(&'static str, u64)> {
        LABELS
            .iter()
            .map(|&l| {
                let n = self
                    .delivered
                    .iter()
                    .filter(|d| d.label.as_deref().unwrap_or("UNSCORED") == l)
                    .count();
                (l, n as u64)
            })
            .collect()
    }

    pub fn failure_codes(&self) -> BTreeMap<String, u64> {
        let mut codes = BTreeMap::new();
        for f in &self.failed {
            *codes.entry(f.record.error_code.clone()).or_default() += 1;
        }
        codes
    }

    pub fn languages(&self) -> Vec<(String, u64, u64)> {
        let mut langs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for d in &self.delivered {
            let e = langs
                .entry(d.lang.clone().unwrap_or_else(|| "?".to_owned()))
                .or_default();
            e.0 += 1;
            e.1 += u64::from(d.label.is_some());
        }
        let mut out: Vec<(String, u64, u64)> =
            langs.into_iter().map(|(l, (n, s))| (l, n, s)).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// Reads every object under `root`. Top-level files (the report, the demo's marker) are not
/// objects and are skipped.
pub fn scan(root: &Path) -> std::io::Result<Scan> {
    let bucket = LocalBucket::new(root);
    let mut scan = Scan::default();
    for key in bucket.keys()? {
        if !key.contains('/') {
            continue;
        }
        let Some(parsed) = parse_key(&key) else {
            scan.unexpected_keys.push(key);
            continue;
        };
        let body = std::fs::read(root.join(&key))?;
        let text = String::from_utf8_lossy(&body);
        let delivered = |obj: &serde_json::Map<String, serde_json::Value>| {
            let s = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let label = obj
                .get("sentiment")
                .and_then(|v| v.get("label"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let created = s("created_at")
                .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
                .map(|c| c.with_timezone(&Utc));
            Delivered {
                key: key.clone(),
                id: s("id"),
                created,
                lang: s("lang"),
                label,
                hour: parsed.hour,
            }
        };
        match parsed.output {
            // Record format conversion: one Parquet file per object, named `….parquet`.
            Output::Delivered if key.ends_with(PARQUET_EXTENSION) => {
                scan.objects += 1;
                match parquet::decode(&body) {
                    Ok(rows) => scan.delivered.extend(rows.iter().map(delivered)),
                    // Line 0: the object as a whole is unreadable.
                    Err(_) => scan.bad_lines.push((key.clone(), 0)),
                }
            }
            Output::Delivered => {
                scan.objects += 1;
                for (n, line) in text.lines().enumerate() {
                    let Ok(serde_json::Value::Object(obj)) =
                        serde_json::from_str::<serde_json::Value>(line)
                    else {
                        scan.bad_lines.push((key.clone(), n + 1));
                        continue;
                    };
                    scan.delivered.push(delivered(&obj));
                }
            }
            Output::FormatConversionFailed => {
                scan.error_objects += 1;
                for (n, line) in text.lines().enumerate() {
                    match serde_json::from_str::<ConversionErrorRecord>(line) {
                        Ok(record) => scan.failed.push(Failed {
                            key: key.clone(),
                            record: record.into(),
                        }),
                        Err(_) => scan.bad_lines.push((key.clone(), n + 1)),
                    }
                }
            }
            Output::ProcessingFailed => {
                scan.error_objects += 1;
                for (n, line) in text.lines().enumerate() {
                    match serde_json::from_str::<ErrorRecord>(line) {
                        Ok(record) => scan.failed.push(Failed {
                            key: key.clone(),
                            record,
                        }),
                        Err(_) => scan.bad_lines.push((key.clone(), n + 1)),
                    }
                }
            }
        }
    }
    Ok(scan)
}

fn pct(n: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        n as f64 * 100.0 / total as f64
    }
}

/// Thousands separators, for people.
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

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
    let _ = writeln!(
        out,
        "Failed    {} records in {} objects under the error prefixes",
        grouped(scan.failed.len() as u64),
        scan.error_objects
    );
    for (code, n) in scan.failure_codes() {
        let _ = writeln!(out, "  {code}: {}", grouped(n));
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Time buckets for the timeline: a round width giving at most `max` buckets.
fn bucket_width(span_secs: i64, max: i64) -> i64 {
    const NICE: [i64; 16] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 10_800, 21_600, 86_400,
    ];
    NICE.iter()
        .copied()
        .find(|w| span_secs / w < max)
        .unwrap_or(86_400 * ((span_secs / 86_400 / max) + 1))
}

struct Timeline {
    start: i64,
    width: i64,
    /// Per bucket, counts in [`LABELS`] order.
    counts: Vec<[u64; 5]>,
    by_created: bool,
}

fn timeline(scan: &Scan) -> Option<Timeline> {
    let with_created = scan
        .delivered
        .iter()
        .filter(|d| d.created.is_some())
        .count();
    // Posts' own times when most records have them, else the S3 hour prefix.
    let by_created = with_created * 2 > scan.delivered.len();
    let times: Vec<(i64, usize)> = scan
        .delivered
        .iter()
        .filter_map(|d| {
            let t = if by_created { d.created? } else { d.hour };
            let label = d.label.as_deref().unwrap_or("UNSCORED");
            Some((
                t.timestamp(),
                LABELS.iter().position(|l| *l == label).unwrap_or(4),
            ))
        })
        .collect();
    let min = times.iter().map(|t| t.0).min()?;
    let max = times.iter().map(|t| t.0).max()?;
    let width = if by_created {
        bucket_width(max - min, 36)
    } else {
        3_600
    };
    let start = min - min.rem_euclid(width);
    let n = ((max - start) / width + 1) as usize;
    let mut counts = vec![[0u64; 5]; n];
    for (t, l) in times {
        counts[((t - start) / width) as usize][l] += 1;
    }
    Some(Timeline {
        start,
        width,
        counts,
        by_created,
    })
}

fn time_label(t: i64, width: i64, span: i64) -> String {
    let dt = DateTime::from_timestamp(t, 0).unwrap_or_default();
    let f = if span >= 86_400 {
        "%m-%d %H:%M"
    } else if width < 60 {
        "%H:%M:%S"
    } else {
        "%H:%M"
    };
    dt.format(f).to_string()
}

/// The 100 % stacked columns of scored labels per bucket, over a strip of volume.
fn timeline_svg(tl: &Timeline) -> String {
    let (w, h, left, top, plot_h, vol_h, gap) = (1000.0, 400.0, 48.0, 12.0, 250.0, 70.0, 40.0);
    let plot_w = w - left - 12.0;
    let n = tl.counts.len() as f64;
    let col = plot_w / n;
    let bar = (col * 0.82).max(1.0);
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="Sentiment mix over time">"#
    );
    for p in [0, 25, 50, 75, 100] {
        let y = top + plot_h * (1.0 - f64::from(p) / 100.0);
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#e6e9ef"/><text x="{}" y="{}" class="axis" text-anchor="end">{p}%</text>"##,
            left + plot_w,
            left - 6.0,
            y + 4.0
        );
    }
    let max_total = tl
        .counts
        .iter()
        .map(|c| c.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let vol_top = top + plot_h + gap;
    for (i, c) in tl.counts.iter().enumerate() {
        let x = left + col * i as f64 + (col - bar) / 2.0;
        let scored: u64 = c[..4].iter().sum();
        let t = tl.start + tl.width * i as i64;
        let mut y = top + plot_h;
        for k in 0..4 {
            if scored == 0 || c[k] == 0 {
                continue;
            }
            let hgt = plot_h * c[k] as f64 / scored as f64;
            y -= hgt;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{hgt:.1}" fill="{}"><title>{} · {}: {} of {} scored ({:.0}%)</title></rect>"#,
                COLORS[k],
                time_label(t, tl.width, tl.width * n as i64),
                LABELS[k],
                c[k],
                scored,
                pct(c[k], scored)
            );
        }
        let total: u64 = c.iter().sum();
        let vh = vol_h * total as f64 / max_total;
        let sh = vol_h * scored as f64 / max_total;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{vh:.1}" fill="{}"><title>{} records, {} scored</title></rect><rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{sh:.1}" fill="#5b6b86"><title>{} records, {} scored</title></rect>"##,
            vol_top + vol_h - vh,
            COLORS[4],
            total,
            scored,
            vol_top + vol_h - sh,
            total,
            scored
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" class="axis" text-anchor="end">{}</text><text x="{left}" y="{}" class="axis">records per bucket (dark: scored)</text>"#,
        left - 6.0,
        vol_top + 10.0,
        grouped(max_total as u64),
        vol_top - 6.0
    );
    let every = (tl.counts.len() / 8).max(1);
    for i in (0..tl.counts.len()).step_by(every) {
        let x = left + col * i as f64 + col / 2.0;
        let t = tl.start + tl.width * i as i64;
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{}" class="axis" text-anchor="middle">{}</text>"#,
            vol_top + vol_h + 16.0,
            time_label(t, tl.width, tl.width * n as i64)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars: (name, count, color) with the share of `total`.
fn bars_svg(rows: &[(String, u64, &str)], total: u64) -> String {
    let (w, row_h, label_w) = (370.0, 34.0, 86.0);
    let h = row_h * rows.len() as f64 + 4.0;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let bar_w = w - label_w - 128.0;
    let mut svg = format!(r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img">"#);
    for (i, (name, n, color)) in rows.iter().enumerate() {
        let y = row_h * i as f64 + 4.0;
        let len = (bar_w * *n as f64 / max).max(if *n > 0 { 2.0 } else { 0.0 });
        let _ = write!(
            svg,
            r##"<text x="0" y="{:.1}" class="lbl">{}</text><rect x="{label_w}" y="{y:.1}" width="{bar_w:.1}" height="22" rx="5" fill="#f1f3f7"/><rect x="{label_w}" y="{y:.1}" width="{len:.1}" height="22" rx="5" fill="{color}"/><text x="{:.1}" y="{:.1}" class="num">{} <tspan class="muted">{:.1}%</tspan></text>"##,
            y + 16.0,
            esc(name),
            label_w + bar_w + 10.0,
            y + 16.0,
            grouped(*n),
            pct(*n, total)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A donut of the label shares.
fn donut_svg(counts: &[(&'static str, u64)]) -> String {
    let total: u64 = counts.iter().map(|c| c.1).sum();
    let (r, stroke) = (70.0, 26.0);
    let circ = 2.0 * std::f64::consts::PI * r;
    let mut svg =
        String::from(r#"<svg viewBox="0 0 200 200" width="180" height="180" role="img">"#);
    let mut offset = 0.0;
    for (k, (label, n)) in counts.iter().enumerate() {
        if *n == 0 || total == 0 {
            continue;
        }
        let len = circ * *n as f64 / total as f64;
        let _ = write!(
            svg,
            r#"<circle cx="100" cy="100" r="{r}" fill="none" stroke="{}" stroke-width="{stroke}" stroke-dasharray="{len:.2} {:.2}" stroke-dashoffset="{:.2}" transform="rotate(-90 100 100)"><title>{label}: {n}</title></circle>"#,
            COLORS[k],
            circ - len,
            -offset
        );
        offset += len;
    }
    let positive = counts.first().map_or(0, |c| c.1);
    let scored: u64 = counts.iter().take(4).map(|c| c.1).sum();
    let _ = write!(
        svg,
        r#"<text x="100" y="98" text-anchor="middle" class="big">{:.0}%</text><text x="100" y="120" text-anchor="middle" class="muted">positive of scored</text></svg>"#,
        pct(positive, scored)
    );
    svg
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
                r#"<section class="card"><h2>Sentiment mix over time</h2><p class="sub">Share of each label among scored records, per {} bucket by {basis}, {} to {} UTC. Hover a bar for counts.</p>{}<div class="legend">{legend}<span><i style="background:{}"></i>not scored (not English, no text)</span></div></section>"#,
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
    let langs: Vec<(String, u64, &str)> = scan
        .languages()
        .into_iter()
        .map(|(l, n, s)| (l, n, if s > 0 { "#3b63c4" } else { "#aab4c5" }))
        .collect();
    let _ = write!(
        out,
        r#"<div class="row"><section class="card"><h2>Records per label</h2><p class="sub">All delivered records; UNSCORED ones pass through without a label.</p><div class="mixrow">{}<div style="flex:1">{}</div></div></section><section class="card"><h2>Languages</h2><p class="sub">Blue: scored by the lexicon (English); grey: delivered as they were.</p>{}</section></div>"#,
        donut_svg(&counts),
        bars_svg(&rows, total),
        bars_svg(&langs, total)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_for_reading() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[tokio::test]
    async fn parquet_objects_and_conversion_failures_are_read_and_broken_files_flagged() {
        use crate::bucket::{Output, PARQUET_EXTENSION, object_key_with_extension};
        use crate::firehose::FirehoseSettings;
        use crate::output::{OutputFormat, write_delivered};
        // GIVEN a Parquet buffer with a record conversion refused, and a truncated Parquet file
        let dir = tempfile::tempdir().unwrap();
        let bucket = LocalBucket::new(dir.path());
        let mut settings = FirehoseSettings::new("d");
        settings.output_format = OutputFormat::Parquet;
        let ndjson = concat!(
            r#"{"id":"1","lang":"en","created_at":"2025-01-01T00:00:01Z","sentiment":{"label":"MIXED"}}"#,
            "\n",
            r#"{"id":"2","sentiment":"not a struct"}"#,
            "\n"
        );
        write_delivered(&bucket, &settings, Utc::now(), ndjson.as_bytes().to_vec())
            .await
            .unwrap();
        let broken = object_key_with_extension(
            Output::Delivered,
            "d",
            Utc::now(),
            uuid::Uuid::new_v4(),
            PARQUET_EXTENSION,
        );
        bucket.put(&broken, b"PAR1 truncated").unwrap();
        // WHEN the directory is scanned
        let scan = scan(dir.path()).unwrap();
        // THEN the converted record is delivered with its fields, the refused one is a failure
        assert_eq!(scan.delivered.len(), 1);
        let d = &scan.delivered[0];
        assert_eq!(
            (d.id.as_deref(), d.lang.as_deref(), d.label.as_deref()),
            (Some("1"), Some("en"), Some("MIXED"))
        );
        assert!(d.created.is_some());
        assert_eq!(
            scan.failure_codes(),
            BTreeMap::from([(parquet::codes::MALFORMED_DATA.to_owned(), 1)])
        );
        assert_eq!((scan.objects, scan.error_objects), (2, 1));
        // AND the unreadable object is reported, not skipped in silence
        assert_eq!(scan.bad_lines, vec![(broken, 0)]);
    }

    #[test]
    fn bucket_widths_are_round_and_bounded() {
        assert_eq!(bucket_width(30, 36), 1);
        assert_eq!(bucket_width(2_500, 36), 120);
        assert!(bucket_width(100 * 86_400, 36) >= 86_400 * 2);
    }
}
