//! The charts, as inline SVG.

use std::fmt::Write as _;

use chrono::DateTime;

use super::Scan;
use super::numbers::{grouped, pct};
use super::{COLORS, LABELS};

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The most buckets (columns) the timeline draws: on its 940-unit-wide plot each column stays
/// at least 26 units wide, wide enough to read and to hover. The buckets' width adapts to the
/// span, so the count stays within this whatever the times (year 0 to 9999 included).
pub(super) const MAX_TIMELINE_BUCKETS: usize = 36;

/// Time buckets for the timeline: a round width (at least `min` seconds, a multiple of it when
/// longer than a day) such that the span, once its start is aligned down to the width, falls
/// in at most `max` buckets.
pub(super) fn bucket_width(span_secs: i64, max: i64, min: i64) -> i64 {
    const NICE: [i64; 16] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 10_800, 21_600, 86_400,
    ];
    const DAY: i64 = 86_400;
    // Aligning the start down adds up to one bucket: the span itself must take at most max - 1.
    let fits = |w: i64| span_secs / w < max.max(2) - 1;
    NICE.iter()
        .copied()
        .filter(|&w| w >= min && w % min == 0)
        .find(|&w| fits(w))
        .unwrap_or_else(|| {
            // Whole days: the smallest count of them that fits.
            let unit = DAY.max(min);
            unit.saturating_mul(span_secs / unit.saturating_mul(max.max(2) - 1) + 1)
        })
}
pub(super) struct Timeline {
    pub(super) start: i64,
    pub(super) width: i64,
    /// Per bucket, counts in [`LABELS`] order.
    pub(super) counts: Vec<[u64; 5]>,
    pub(super) by_created: bool,
}

pub(super) fn timeline(scan: &Scan) -> Option<Timeline> {
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
    // Hour prefixes are whole hours: their buckets are too.
    let least = if by_created { 1 } else { 3_600 };
    let width = bucket_width(max.saturating_sub(min), MAX_TIMELINE_BUCKETS as i64, least);
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

pub(super) fn time_label(t: i64, width: i64, span: i64) -> String {
    let dt = DateTime::from_timestamp(t, 0).unwrap_or_default();
    let f = if span >= 366 * 86_400 {
        "%Y-%m-%d"
    } else if span >= 86_400 {
        "%m-%d %H:%M"
    } else if width < 60 {
        "%H:%M:%S"
    } else {
        "%H:%M"
    };
    dt.format(f).to_string()
}

/// The 100 % stacked columns of scored labels per bucket, over a strip of volume.
pub(super) fn timeline_svg(tl: &Timeline) -> String {
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
pub(super) fn bars_svg(rows: &[(String, u64, &str)], total: u64) -> String {
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

/// One horizontal bar per row, split by label in [`LABELS`] order (each segment's share of
/// its row), with the row's count at the end.
pub(super) fn stacked_svg(rows: &[(String, [u64; 5])]) -> String {
    let (w, row_h, label_w) = (370.0, 34.0, 44.0);
    let h = row_h * rows.len() as f64 + 4.0;
    let bar_w = w - label_w - 70.0;
    let mut svg = format!(r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img">"#);
    for (i, (name, counts)) in rows.iter().enumerate() {
        let y = row_h * i as f64 + 4.0;
        let n: u64 = counts.iter().sum();
        let _ = write!(
            svg,
            r#"<text x="0" y="{:.1}" class="lbl">{}</text>"#,
            y + 16.0,
            esc(name)
        );
        let mut x = label_w;
        for (k, c) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            let len = bar_w * *c as f64 / n.max(1) as f64;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{len:.1}" height="22" fill="{}"><title>{} {}: {} ({:.1}%)</title></rect>"#,
                COLORS[k],
                esc(name),
                LABELS[k],
                grouped(*c),
                pct(*c, n)
            );
            x += len;
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="num">{}</text>"#,
            label_w + bar_w + 8.0,
            y + 16.0,
            grouped(n)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A donut of the label shares.
pub(super) fn donut_svg(counts: &[(&'static str, u64)]) -> String {
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
