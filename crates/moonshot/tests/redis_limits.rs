//! The limits shared through Redis (`RedisStore`), against a real `redis-server` that each test
//! starts on 127.0.0.1 with a free port and a temporary directory. Without `redis-server` on the
//! PATH the tests skip, unless `MOONSHOT_REQUIRE_REDIS=1` (as in CI).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moonshot::Error;
use moonshot::limits::{Account, LimitStore, Limits, RedisStore};
use tokio::time::Instant;

const KEY: &str = "sk-redis-test-key-never-stored";

/// A `redis-server` of this test's own, killed when dropped.
struct Redis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    /// Starts one, or returns `None` (having said how to run the test) without `redis-server`.
    fn start(extra: &[&str]) -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                std::env::var("MOONSHOT_REQUIRE_REDIS").as_deref() != Ok("1"),
                "MOONSHOT_REQUIRE_REDIS=1 but redis-server is not on the PATH"
            );
            eprintln!(
                "skipped: no redis-server on the PATH (install it, e.g. `apt-get install redis-server`, to run the Redis limits' tests)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let child = spawn(port, &dir, extra);
        let redis = Self { child, port, dir };
        redis.wait_up();
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn wait_up(&self) {
        for _ in 0..500 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and directory.
    fn restart(&mut self) {
        self.child = spawn(self.port, &self.dir, &[]);
        self.wait_up();
    }
}

fn spawn(port: u16, dir: &tempfile::TempDir, extra: &[&str]) -> Child {
    Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .arg("--dir")
        .arg(dir.path())
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts")
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn store(redis: &Redis, limits: Limits) -> RedisStore {
    RedisStore::builder(redis.url(), limits, Account::from_api_key(KEY))
        .lease_ttl(Duration::from_secs(1))
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect("the store connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_never_exceed_the_limits_together() {
    let Some(redis) = Redis::start(&[]) else {
        return;
    };
    let window = Duration::from_millis(600);
    let (concurrency, per_window) = (3, 8);
    let limits = Limits::none()
        .concurrency(concurrency)
        .requests_per_minute(per_window)
        .window(window);
    let stores = [
        Arc::new(store(&redis, limits.clone()).await),
        Arc::new(store(&redis, limits).await),
    ];
    let grants = Arc::new(Mutex::new(Vec::new()));
    let (now, most) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let mut tasks = Vec::new();
    for task in 0..12 {
        let store = Arc::clone(&stores[task % 2]);
        let (grants, now, most) = (Arc::clone(&grants), Arc::clone(&now), Arc::clone(&most));
        tasks.push(tokio::spawn(async move {
            for _ in 0..2 {
                let permit = store.acquire(0).await.expect("a permit");
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(running, Ordering::SeqCst);
                grants.lock().expect("grants").push(Instant::now());
                tokio::time::sleep(Duration::from_millis(30)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                drop(permit);
            }
        }));
    }
    for task in tasks {
        task.await.expect("the task");
    }
    let mut grants = grants.lock().expect("grants").clone();
    grants.sort();
    assert_eq!(grants.len(), 24);
    assert!(
        most.load(Ordering::SeqCst) <= concurrency,
        "concurrency exceeded"
    );
    // Grants are seen a little after Redis made them: count within a window a little shorter.
    let seen = window - Duration::from_millis(50);
    for (i, first) in grants.iter().enumerate() {
        let within = grants[i..].iter().filter(|t| **t - *first < seen).count();
        assert!(
            within <= per_window as usize,
            "{within} requests started within {seen:?}: {grants:?}"
        );
    }
    assert!(
        grants[23] - grants[0] >= window * 2 - Duration::from_millis(50),
        "24 requests at 8 a window need three windows"
    );
    // Nothing in Redis holds the key: only its hash names the account.
    let client = redis::Client::open(redis.url()).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    let hash = Account::from_api_key(KEY).hash().to_owned();
    assert!(!keys.is_empty());
    for key in &keys {
        assert!(!key.contains(KEY), "{key}");
        assert!(key.contains(&hash), "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_tokens_and_cancelled_waits_come_back_to_every_store() {
    let Some(redis) = Redis::start(&[]) else {
        return;
    };
    // A long window: only giving back lets a second request in.
    let limits = Limits::none()
        .tokens_per_minute(1_000)
        .window(Duration::from_secs(60));
    let (a, b) = (
        store(&redis, limits.clone()).await,
        store(&redis, limits).await,
    );
    let first = a.acquire(800).await.expect("800 of 1000");
    assert_eq!(b.acquire(0).await.expect("peek").reserved(), 0);
    // 700 do not fit: this wait is cancelled.
    let waited = tokio::time::timeout(Duration::from_millis(200), b.acquire(700)).await;
    assert!(waited.is_err(), "700 more fitted under 1000");
    first.settle(100); // the answer used 100 of its 800
    let second = tokio::time::timeout(Duration::from_secs(10), b.acquire(700))
        .await
        .expect("the unused 700 came back")
        .expect("a permit");
    assert_eq!(second.reserved(), 700);
    assert_eq!(b.usage().tokens_this_window, 800);
    let err = a.acquire(1_001).await.expect_err("over a window");
    assert!(err.to_string().contains("1001 tokens"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holders_lease_comes_back_within_its_ttl_and_a_live_one_is_renewed() {
    let Some(redis) = Redis::start(&[]) else {
        return;
    };
    let limits = Limits::none().concurrency(1);
    let (a, b) = (
        store(&redis, limits.clone()).await,
        store(&redis, limits).await,
    );
    // Held past twice the lease's 1 s life: renewed, so still held.
    let held = a.acquire(0).await.expect("the one place");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let waited = tokio::time::timeout(Duration::from_millis(300), b.acquire(0)).await;
    assert!(waited.is_err(), "a held lease expired");
    drop(held);
    let again = tokio::time::timeout(Duration::from_secs(5), a.acquire(0))
        .await
        .expect("a released place comes back")
        .expect("permit");
    // The holder dies: its permit is never released, its store is gone.
    std::mem::forget(again);
    drop(a);
    let start = Instant::now();
    let _place = tokio::time::timeout(Duration::from_secs(10), b.acquire(0))
        .await
        .expect("the dead holder's place comes back")
        .expect("permit");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the lease outlived its bound: {:?}",
        start.elapsed()
    );
}

/// Collects what is traced, for the test that counts the warnings.
#[derive(Clone, Default)]
struct Traced(Arc<Mutex<Vec<u8>>>);

impl Write for Traced {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("trace").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn without_redis_each_process_keeps_its_share_and_returns_when_it_answers() {
    let Some(mut redis) = Redis::start(&[]) else {
        return;
    };
    let traced = Traced::default();
    let writer = traced.clone();
    let _trace = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish(),
    );
    let store = RedisStore::builder(
        redis.url(),
        Limits::none().concurrency(4),
        Account::from_api_key(KEY),
    )
    .replicas(4)
    .timeout(Duration::from_millis(300))
    .connect()
    .await
    .expect("connects");
    assert!(store.is_shared());
    redis.stop();
    // A quarter of 4: one at a time, never unlimited.
    let one = store.acquire(0).await.expect("the fallback's one place");
    assert!(!store.is_shared());
    let waited = tokio::time::timeout(Duration::from_millis(300), store.acquire(0)).await;
    assert!(waited.is_err(), "the fallback let a second request in");
    drop(one);
    for _ in 0..3 {
        drop(store.acquire(0).await.expect("fallback"));
    }
    let text = String::from_utf8(traced.0.lock().expect("trace").clone()).expect("utf-8");
    assert_eq!(text.matches("Redis cannot be reached").count(), 1, "{text}");
    assert!(!text.contains(KEY));
    redis.restart();
    let mut shared = false;
    for _ in 0..50 {
        drop(store.acquire(0).await.expect("a permit"));
        if store.is_shared() {
            shared = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shared, "the store did not return to Redis");
    // Shared again: four places.
    let mut places = Vec::new();
    for _ in 0..4 {
        places.push(
            tokio::time::timeout(Duration::from_secs(5), store.acquire(0))
                .await
                .expect("four places")
                .expect("permit"),
        );
    }
    assert!(store.is_shared());
}

#[tokio::test]
async fn bad_urls_unreachable_and_refusing_servers_are_named_at_construction() {
    let connect = |url: String| async move {
        RedisStore::builder(
            url,
            Limits::tier(1).expect("tier"),
            Account::from_api_key(KEY),
        )
        .timeout(Duration::from_millis(500))
        .connect()
        .await
        .expect_err("no store")
    };
    let err = connect("not a redis url".to_owned()).await;
    assert!(matches!(err, Error::Configuration(_)), "{err:?}");
    assert!(err.to_string().contains("not a redis url"), "{err}");
    assert!(err.to_string().contains("does not parse"), "{err}");

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let err = connect(format!("redis://:hunter2@127.0.0.1:{port}/")).await;
    assert!(err.to_string().contains("cannot be reached"), "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");

    let Some(redis) = Redis::start(&["--requirepass", "right-password"]) else {
        return;
    };
    let err = connect(redis.url()).await;
    assert!(
        err.to_string().contains("answered INFO with an error"),
        "{err}"
    );
    assert!(err.to_string().contains(&redis.url()), "{err}");
}
