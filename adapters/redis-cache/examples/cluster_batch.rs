//! How to read a 1,000-key batch from a Redis Cluster, measured: one `MGET`
//! per hash slot or one `GET` per key, each way in one pipeline.
//!
//!     cargo run --release -p redis-cache --example cluster_batch -- \
//!         redis-cluster://127.0.0.1:7101 [rounds]
//!
//! It writes 1,000 keys under `credit-decisions-bench:<pid>:`, reads them
//! back `rounds` times (default 200) each way, prints the median and the
//! 90th percentile of a batch, and deletes its keys.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fred::prelude::*;
use fred::util::redis_keyslot;

const BATCH: usize = 1_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut arguments = std::env::args().skip(1);
    let url = arguments
        .next()
        .unwrap_or_else(|| "redis-cluster://127.0.0.1:7101".to_owned());
    let rounds: usize = arguments.next().map_or(200, |n| n.parse().expect("rounds"));
    let client = Builder::from_config(Config::from_url(&url)?).build()?;
    client.init().await?;

    let keys: Vec<String> = (0..BATCH)
        .map(|i| format!("credit-decisions-bench:{}:{i:x}", std::process::id()))
        .collect();
    let pipeline = client.pipeline();
    for key in &keys {
        let _: () = pipeline
            .set(key, "x", Some(Expiration::EX(600)), None, false)
            .await?;
    }
    let _: Vec<Value> = pipeline.all().await?;

    let by_slot = measure(rounds, || mget_per_slot(&client, &keys)).await?;
    let per_key = measure(rounds, || get_per_key(&client, &keys)).await?;
    println!("{BATCH} keys, {rounds} rounds each, on {url}");
    println!("MGET per slot: median {:?}, p90 {:?}", by_slot.0, by_slot.1);
    println!("GET per key:   median {:?}, p90 {:?}", per_key.0, per_key.1);

    let pipeline = client.pipeline();
    for key in &keys {
        let _: () = pipeline.del(key).await?;
    }
    let _: Vec<Value> = pipeline.all().await?;
    client.quit().await
}

async fn mget_per_slot(client: &Client, keys: &[String]) -> Result<usize, Error> {
    let mut slots: HashMap<u16, Vec<&str>> = HashMap::new();
    for key in keys {
        slots
            .entry(redis_keyslot(key.as_bytes()))
            .or_default()
            .push(key);
    }
    let pipeline = client.pipeline();
    for slot_keys in slots.into_values() {
        let _: () = pipeline.mget(slot_keys).await?;
    }
    let replies: Vec<Vec<Value>> = pipeline.all().await?;
    Ok(replies
        .iter()
        .flatten()
        .filter(|value| !value.is_null())
        .count())
}

async fn get_per_key(client: &Client, keys: &[String]) -> Result<usize, Error> {
    let pipeline = client.pipeline();
    for key in keys {
        let _: () = pipeline.get(key).await?;
    }
    let replies: Vec<Value> = pipeline.all().await?;
    Ok(replies.iter().filter(|value| !value.is_null()).count())
}

/// The median and the 90th percentile of `rounds` calls, after checking that
/// every call found every key.
async fn measure<F, Fut>(rounds: usize, call: F) -> Result<(Duration, Duration), Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<usize, Error>>,
{
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let found = call().await?;
        times.push(started.elapsed());
        assert_eq!(found, BATCH, "every key is found");
    }
    times.sort();
    Ok((times[rounds / 2], times[rounds * 9 / 10]))
}
