//! The Bedrock answer's validation (`read_answer`), on any JSON a model might send as the tool's
//! input. No panic; exactly one answer per post, in order; every accepted answer has a label of
//! the four, scores in [0, 1] summing to 1 and the label's score the highest; an index that
//! appears twice is never accepted; every refusal is retryable (asked again), never guessed.
//!
//! The input: one byte for the number of posts (0–63), then the tool's input as JSON text.

use ks_sentiment::bedrock_answer::read_answer;
use serde_json::Value;

use crate::util::Input;

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let posts = usize::from(input.byte() % 64);
    let Ok(value) = serde_json::from_slice::<Value>(input.rest()) else {
        return;
    };
    let answers = read_answer(&value, posts);
    assert_eq!(answers.len(), posts);
    let seen = index_counts(&value, posts);
    for (i, a) in answers.iter().enumerate() {
        match a {
            Ok(s) => {
                assert_eq!(
                    seen[i], 1,
                    "index {i} accepted though it came {} times",
                    seen[i]
                );
                let sc = s.scores;
                let all = [sc.positive, sc.negative, sc.neutral, sc.mixed];
                assert!(all.iter().all(|v| (0.0..=1.0).contains(v)), "{all:?}");
                assert!((all.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{all:?}");
                let own = match s.label.as_str() {
                    "POSITIVE" => sc.positive,
                    "NEGATIVE" => sc.negative,
                    "NEUTRAL" => sc.neutral,
                    _ => sc.mixed,
                };
                assert!(all.iter().all(|&v| v <= own), "{s:?}");
            }
            Err(e) => assert!(e.retryable, "{e:?}"),
        }
    }
}

/// How often each index in range appears as a whole-number `i` (the oracle, written apart).
fn index_counts(value: &Value, posts: usize) -> Vec<usize> {
    let mut seen = vec![0; posts];
    let items = value.get("results").and_then(Value::as_array);
    for item in items.into_iter().flatten() {
        let i = item.get("i").and_then(|v| {
            v.as_u64().or_else(|| {
                v.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 1e9)
                    .map(|f| f as u64)
            })
        });
        if let Some(i) = i
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < posts)
        {
            seen[i] += 1;
        }
    }
    seen
}
