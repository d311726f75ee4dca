//! `report`: reads a Firehose output directory back (delivered NDJSON or Parquet objects, and
//! the error records under `processing-failed/` and `format-conversion-failed/`) and renders one
//! self-contained HTML page with inline SVG.
//!
//! # Layout
//! - [`scan`](mod@scan): the directory read back into a [`Scan`].
//! - [`html`](mod@html): the page, and the plain-text summary.
//! - `svg`: the timeline, bar and donut charts.
//! - `numbers`: percentages and grouped digits, as both show them.

mod html;
mod numbers;
mod scan;
mod svg;

pub use html::{html, text_summary};
pub use numbers::grouped;
pub use scan::{Delivered, Failed, Scan, scan};

/// The labels in display order; records without one are `UNSCORED` (another language, no text).
pub const LABELS: [&str; 5] = ["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED", "UNSCORED"];
const COLORS: [&str; 5] = ["#1f9d6b", "#e5484d", "#7f8ea8", "#f0a020", "#cfd5df"];
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, TimeZone as _, Utc};
    use ks_firehose_local::bucket::LocalBucket;
    use ks_firehose_local::parquet;

    use super::svg::bucket_width;
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
        use ks_firehose_local::bucket::{Output, PARQUET_EXTENSION, object_key_with_extension};
        use ks_firehose_local::firehose::FirehoseSettings;
        use ks_firehose_local::output::{OutputFormat, write_delivered};
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
        write_delivered(
            &bucket,
            settings.destination(),
            Utc::now(),
            ndjson.as_bytes().to_vec(),
        )
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
    fn sentiment_is_broken_down_by_language_in_the_summary_and_the_page() {
        // GIVEN three pt records (2 positive, 1 negative), one unscored ja and one without a tag
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let record = |lang: Option<&str>, label: Option<&str>| Delivered {
            lang: lang.map(str::to_owned),
            label: label.map(str::to_owned),
            ..delivered_at(at, None)
        };
        let scan = Scan {
            delivered: vec![
                record(Some("pt"), Some("POSITIVE")),
                record(Some("pt"), Some("POSITIVE")),
                record(Some("pt"), Some("NEGATIVE")),
                record(Some("ja"), None),
                record(None, Some("NEUTRAL")),
            ],
            ..Scan::default()
        };
        // WHEN broken down by language
        let rows = scan.sentiment_by_language();
        // THEN each language has its counts per label, the most frequent language first
        assert_eq!(
            rows,
            vec![
                ("pt".to_owned(), [2, 1, 0, 0, 0]),
                ("?".to_owned(), [0, 0, 1, 0, 0]),
                ("ja".to_owned(), [0, 0, 0, 0, 1]),
            ]
        );
        // AND the text summary shows the shares per language, the page one bar per language
        let text = text_summary(&scan);
        assert!(
            text.contains("  pt                3    66.7%    33.3%"),
            "{text}"
        );
        assert!(text.contains("  ja                1     0.0%"), "{text}");
        let page = html(&scan, "test");
        assert!(page.contains("Sentiment by language"));
        assert!(
            page.contains("<title>pt POSITIVE: 2 (66.7%)</title>"),
            "stacked bar"
        );
    }

    fn delivered_at(hour: DateTime<Utc>, created: Option<DateTime<Utc>>) -> Delivered {
        Delivered {
            key: String::new(),
            id: None,
            did: None,
            created,
            lang: None,
            label: Some("POSITIVE".to_owned()),
            hour,
        }
    }

    #[test]
    fn the_timeline_has_a_bounded_number_of_buckets_whatever_the_span() {
        use super::svg::{MAX_TIMELINE_BUCKETS, timeline};
        let t = |y, m, d, h, s| Utc.with_ymd_and_hms(y, m, d, h, 0, s).unwrap();
        let early = t(0, 1, 1, 0, 0);
        let late = t(9999, 12, 31, 23, 59);
        for (what, times, by_created) in [
            (
                "a year of hour prefixes",
                vec![t(2025, 1, 1, 0, 0), t(2026, 1, 1, 0, 0)],
                false,
            ),
            (
                "hour prefixes 0000/… to 9999/…",
                vec![early, t(2025, 6, 1, 12, 0), late],
                false,
            ),
            ("created_at from year 0 to 9999", vec![early, late], true),
            (
                "30 seconds of created_at",
                vec![t(2025, 1, 1, 0, 0), t(2025, 1, 1, 0, 30)],
                true,
            ),
            ("one instant", vec![t(2025, 1, 1, 5, 7)], true),
        ] {
            // GIVEN delivered records spread over the span
            let scan = Scan {
                delivered: times
                    .iter()
                    .map(|&at| {
                        let hour = at - chrono::Duration::seconds(at.timestamp().rem_euclid(3_600));
                        delivered_at(hour, by_created.then_some(at))
                    })
                    .collect(),
                ..Scan::default()
            };
            // WHEN the timeline is built
            let tl = timeline(&scan).unwrap();
            // THEN it has at most the bounded number of buckets, and every record is in one
            assert!(
                (1..=MAX_TIMELINE_BUCKETS).contains(&tl.counts.len()),
                "{what}: {} buckets",
                tl.counts.len()
            );
            let counted: u64 = tl.counts.iter().flatten().sum();
            assert_eq!(counted, times.len() as u64, "{what}");
            assert_eq!(tl.by_created, by_created, "{what}");
            // AND buckets of hour prefixes are whole hours
            if !by_created {
                assert_eq!(tl.width % 3_600, 0, "{what}: {}", tl.width);
            }
        }
        // AND the page renders for the widest span
        let scan = Scan {
            delivered: vec![delivered_at(early, None), delivered_at(late, None)],
            ..Scan::default()
        };
        assert!(html(&scan, "x").contains("Sentiment mix over time"));
    }

    #[test]
    fn bucket_widths_are_round_and_bounded() {
        assert_eq!(bucket_width(30, 36, 1), 1);
        assert_eq!(bucket_width(2_500, 36, 1), 120);
        assert!(bucket_width(100 * 86_400, 36, 1) >= 86_400 * 2);
        assert_eq!(bucket_width(30 * 3_600, 36, 3_600), 3_600);
        assert_eq!(bucket_width(40 * 3_600, 36, 3_600), 10_800);
        assert!(bucket_width(i64::MAX, 36, 1) > 0);
    }
}
