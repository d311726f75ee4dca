//! The lister against moto's S3: more keys than one page holds, under a prefix among others.

use futures::StreamExt as _;
use ks_s3::{Listing, list_all};
use ks_testkit::emulator::Moto;
use ks_testkit::local_s3_client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_under_the_prefix_comes_once_in_key_order_across_pages() {
    // GIVEN 1,205 objects under data/ (more than one 1,000-key page) and others beside them
    let moto = Moto::start();
    let client = local_s3_client!(moto.url());
    client.create_bucket().bucket("lake").send().await.unwrap();
    let keys: Vec<String> = (0..1_205).map(|i| format!("data/{i:05}")).collect();
    let puts = keys
        .iter()
        .map(String::as_str)
        .chain(["deletions/x", "datum", "purge/state.json"])
        .map(|k| {
            let client = client.clone();
            let k = k.to_owned();
            async move {
                let body = vec![b'x'; k.len()];
                client
                    .put_object()
                    .bucket("lake")
                    .key(k)
                    .body(body.into())
                    .send()
                    .await
                    .unwrap();
            }
        });
    futures::stream::iter(puts)
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    // WHEN listed page by page
    let mut listing = Listing::new(&client, "lake", "data/");
    let mut pages = Vec::new();
    while let Some(page) = listing.next_page().await {
        pages.push(page.unwrap());
    }
    // THEN two pages, every key once, in order, with its size
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [1_000, 205]);
    let listed: Vec<String> = pages.iter().flatten().map(|o| o.key.clone()).collect();
    assert_eq!(listed, keys);
    assert!(pages.iter().flatten().all(|o| o.size == o.key.len() as u64));
    // AND listing all at once gives the same; an absent bucket is an error naming it
    assert_eq!(
        list_all(&client, "lake", "data/").await.unwrap().len(),
        1_205
    );
    let err = list_all(&client, "no-such-lake", "data/")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("ListObjectsV2 s3://no-such-lake/data/: "),
        "{err}"
    );
}
