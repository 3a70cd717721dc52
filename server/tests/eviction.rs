//! `maxmemory` over real sockets with the `redis` client: the server flags set it, a write
//! storm from two connections evicts and stays under the limit, and `noeviction` answers
//! Redis's OOM error.

use memora_server::config::Cli;
use memora_server::test_utils::TestServer;

fn info_field(info: &str, name: &str) -> u64 {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from INFO"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_flags_set_the_limit_and_policy() {
    let Cli::Run(parsed) =
        Cli::parse(["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lfu"]).expect("flags")
    else {
        panic!("a run configuration")
    };
    let server = TestServer::start_with(|config| config.engine_params = parsed.engine_params).await;
    let mut con = server.redis_connection().await;
    let limit: Vec<String> =
        redis::cmd("CONFIG").arg("GET").arg("maxmemory").query_async(&mut con).await.expect("get");
    assert_eq!(limit, vec!["maxmemory".to_string(), (64 * 1024 * 1024).to_string()]);
    let policy: Vec<String> =
        redis::cmd("CONFIG").arg("GET").arg("maxmemory-policy").query_async(&mut con).await.expect("get");
    assert_eq!(policy, vec!["maxmemory-policy".to_string(), "allkeys-lfu".to_string()]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_storm_evicts_and_stays_under_the_limit() {
    let server = TestServer::start().await;
    let mut admin = server.redis_connection().await;
    let info: String = redis::cmd("INFO").arg("memory").query_async(&mut admin).await.expect("info");
    let limit = info_field(&info, "used_memory") + 2 * 1024 * 1024;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(limit)
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query_async(&mut admin)
        .await
        .expect("config set");
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let url = server.url(false);
            tokio::spawn(async move {
                let client = redis::Client::open(url).expect("client");
                let mut con = client.get_multiplexed_async_connection().await.expect("connect");
                for batch in 0..40 {
                    let mut pipe = redis::pipe();
                    for i in 0..500 {
                        pipe.cmd("SET").arg(format!("{t}:{batch}:{i}")).arg(vec![b'x'; 100]).ignore();
                    }
                    let result: redis::RedisResult<()> = pipe.query_async(&mut con).await;
                    if let Err(error) = result {
                        let info: String = redis::cmd("INFO").query_async(&mut con).await.expect("info");
                        panic!("batch {batch}: {error:?}\n{info}");
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let info: String = redis::cmd("INFO").query_async(&mut admin).await.expect("info");
    assert!(info_field(&info, "used_memory") <= limit + limit / 50, "{info}");
    assert!(info_field(&info, "evicted_keys") > 10_000, "{info}");
    assert!(info.contains("evicted_per_policy:allkeys-lru="), "{info}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noeviction_answers_oom() {
    let server = TestServer::start().await;
    let mut con = server.redis_connection().await;
    let _: () = redis::cmd("SET").arg("k").arg("v").query_async(&mut con).await.expect("set");
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg(1).query_async(&mut con).await.expect("config");
    let refused: redis::RedisResult<()> = redis::cmd("SET").arg("k2").arg("v").query_async(&mut con).await;
    let error = refused.expect_err("over the limit");
    assert_eq!(error.code(), Some("OOM"), "{error:?}");
    let value: String = redis::cmd("GET").arg("k").query_async(&mut con).await.expect("reads still work");
    assert_eq!(value, "v");
    server.shutdown().await;
}
