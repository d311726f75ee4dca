//! `kinesis-sentiment report --input s3://…` against moto (started by the test, which fails with
//! the fix when moto is missing), with object keys a hostile bucket writer chooses: the real
//! binary must stay inside its private temporary directory and remove it.

use std::path::Path;

use chrono::{TimeZone as _, Utc};
use ks_firehose_local::bucket::{Output, object_key};
use ks_testkit::aws;
use ks_testkit::emulator::Moto;

const BIN: &str = env!("CARGO_BIN_EXE_kinesis-sentiment");

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_stay_inside_a_private_directory_that_is_removed_after_the_report() {
    let moto = Moto::start();
    let url = moto.url();
    // GIVEN a stack's bucket with one delivered object, a key that climbs out of the download
    // directory, and a key whose name has a multibyte character where the time starts
    let client = ks_testkit::local_s3_client!(&url);
    client.create_bucket().bucket("stack").send().await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 3, 7, 9, 5, 4).unwrap();
    let good = format!(
        "data/{}",
        object_key(Output::Delivered, "d", at, uuid::Uuid::new_v4())
    );
    let body = concat!(
        r#"{"id":"1","lang":"en","created_at":"2026-03-07T09:05:01Z","sentiment":{"label":"POSITIVE"}}"#,
        "\n",
        r#"{"id":"2","lang":"de","created_at":"2026-03-07T09:05:02Z"}"#,
        "\n"
    );
    let climbing = "data/x/../../../ESCAPED.txt";
    let multibyte =
        "data/2026/03/07/09/s-1-\u{e9}026-03-07-09-05-04-00000000-0000-0000-0000-000000000000";
    for (key, body) in [
        (good.as_str(), body),
        (climbing, "escaped\n"),
        (multibyte, "{}\n"),
    ] {
        client
            .put_object()
            .bucket("stack")
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    // (the emulator kept the keys as written, so the test is not vacuous)
    let listed = client
        .list_objects_v2()
        .bucket("stack")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(keys.contains(&climbing), "{keys:?}");
    assert!(keys.contains(&multibyte), "{keys:?}");

    // WHEN the binary reports on s3://stack/ with its temporary directory under tmp/
    let root = tempfile::tempdir().unwrap();
    let (tmp, work) = (root.path().join("tmp"), root.path().join("work"));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let out = aws::user_command(BIN)
        .args(["report", "--input", "s3://stack/", "--endpoint-url", &url])
        .current_dir(&work)
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    // THEN it succeeds and counts the delivered records
    assert!(out.status.success(), "{}: {stdout}\n{stderr}", out.status);
    assert!(
        stdout.contains("Delivered 2 records in 1 objects"),
        "{stdout}"
    );
    // AND the climbing key was refused and named, not written anywhere
    assert!(
        stderr.contains("x/../../../ESCAPED.txt") && stderr.contains("not copied"),
        "{stderr}"
    );
    assert_eq!(
        files(root.path()),
        ["work/report.html"],
        "{stdout}\n{stderr}"
    );
    // AND the private download directory is gone, the page is in the current directory
    assert!(stdout.contains("Report: "), "{stdout}");
    let page = std::fs::read_to_string(work.join("report.html")).unwrap();
    assert!(page.contains("s3://stack/"), "the page names its input");
}
