//! tokio_bench: the Tokio twin of weft's scheduler/sync benchmarks.
//!
//! Usage: tokio_bench <name> [key=value ...]
//!
//! Each run prints exactly one line:
//!
//!     <name> key=value ... workers=N seconds=S ops_per_sec=O ns_per_op=N [result=R]
//!
//! workers=N sets the multi-thread runtime's worker_threads (default: number
//! of CPUs). Timing is wall clock, taken inside the runtime after it has
//! started; every workload runs inside one spawned root task, so all spawns
//! are local to a worker (as in Go, where main is a goroutine). The program
//! exits non-zero on an unknown workload or key, a bad value, or a wrong
//! result.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::process::exit;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One workload parameter with its default and smallest legal value.
struct Param {
    key: &'static str,
    def: u64,
    min: u64,
}

struct Workload {
    name: &'static str,
    params: &'static [Param],
}

const fn p(key: &'static str, def: u64, min: u64) -> Param {
    Param { key, def, min }
}

const WORKLOADS: &[Workload] = &[
    Workload { name: "skynet", params: &[p("size", 1_000_000, 1), p("div", 10, 2)] },
    Workload { name: "spawn_join", params: &[p("n", 1_000_000, 1)] },
    Workload { name: "fib", params: &[p("n", 30, 0)] },
    Workload { name: "yield", params: &[p("tasks", 1000, 1), p("iters", 1000, 1)] },
    Workload { name: "sleep_timers", params: &[p("tasks", 100_000, 1), p("ms", 1, 0)] },
    Workload { name: "pingpong", params: &[p("n", 1_000_000, 1)] },
    Workload {
        name: "mpmc",
        params: &[p("producers", 4, 1), p("consumers", 4, 1), p("cap", 1024, 1), p("items", 10_000_000, 1)],
    },
    Workload { name: "mutex", params: &[p("tasks", 1000, 1), p("iters", 1000, 1)] },
    Workload { name: "select", params: &[p("n", 1_000_000, 1)] },
];

/// What a workload reports back to main.
struct Measurement {
    elapsed: Duration,
    ops: u64,
    result: Option<u64>,
}

type Params = HashMap<&'static str, u64>;
type Outcome = Result<Measurement, String>;

/// Runs `root` as a spawned task and times it from just before the spawn to
/// its completion.
async fn timed<T: Send + 'static>(root: impl Future<Output = T> + Send + 'static) -> (T, Duration) {
    let start = Instant::now();
    let value = tokio::spawn(root).await.expect("root task panicked");
    (value, start.elapsed())
}

fn check(what: &str, got: u64, want: u64) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("wrong result for {what}: got {got}, want {want}"))
    }
}

/// Half-open range [lo, hi) of 0..total owned by part i of parts.
fn split(total: u64, parts: u64, i: u64) -> (u64, u64) {
    let (base, rem) = (total / parts, total % parts);
    let lo = i * base + i.min(rem);
    (lo, lo + base + u64::from(i < rem))
}

async fn join_all<T>(handles: Vec<JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task panicked"));
    }
    out
}

// ---------------------------------------------------------------------------
// skynet: recursive fan-out/fan-in. Every task with size > 1 spawns div
// children and joins them, summing. Measures spawn + completion + wake-up
// cost. ops = total tasks spawned, root included (1111111 for size=1e6 div=10).

fn skynet(num: u64, size: u64, div: u64) -> BoxFut<u64> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let child = size / div;
        let handles: Vec<_> = (0..div).map(|i| tokio::spawn(skynet(num + i * child, child, div))).collect();
        join_all(handles).await.into_iter().sum()
    })
}

fn skynet_tasks(size: u64, div: u64) -> u64 {
    if size == 1 {
        1
    } else {
        1 + div * skynet_tasks(size / div, div)
    }
}

async fn bench_skynet(p: Params) -> Outcome {
    let (size, div) = (p["size"], p["div"]);
    let mut s = size;
    while s != 1 {
        if s % div != 0 {
            return Err(format!("skynet: size={size} must be a power of div={div}"));
        }
        s /= div;
    }
    let (result, elapsed) = timed(skynet(0, size, div)).await;
    check("skynet", result, size * (size - 1) / 2)?;
    Ok(Measurement { elapsed, ops: skynet_tasks(size, div), result: Some(result) })
}

// ---------------------------------------------------------------------------
// spawn_join: one task spawns n trivial tasks (each returns its index), then
// joins them in spawn order and sums. Measures raw spawn + join cost. ops = n.

async fn bench_spawn_join(p: Params) -> Outcome {
    let n = p["n"];
    let (result, elapsed) = timed(async move {
        let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
        join_all(handles).await.into_iter().sum::<u64>()
    })
    .await;
    check("spawn_join", result, n * (n - 1) / 2)?;
    Ok(Measurement { elapsed, ops: n, result: Some(result) })
}

// ---------------------------------------------------------------------------
// fib: fork-join recursion. fib(n) spawns fib(n-1), computes fib(n-2) inline
// (Box::pin recursion in the same task) and joins the spawned one.
// Measures fine-grained fork/join. ops = tasks spawned, root included.

fn fib(n: u64) -> BoxFut<u64> {
    Box::pin(async move {
        if n < 2 {
            return n;
        }
        let h = tokio::spawn(fib(n - 1));
        let b = fib(n - 2).await;
        h.await.expect("fib task panicked") + b
    })
}

/// Spawns made by fib(n), the root not included: s(k) = 1 + s(k-1) + s(k-2).
fn fib_spawns(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 0u64); // s(k-2), s(k-1); s(0) = s(1) = 0
    for _ in 2..=n {
        (a, b) = (b, 1 + a + b);
    }
    b
}

fn fib_seq(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

async fn bench_fib(p: Params) -> Outcome {
    let n = p["n"];
    if n > 90 {
        return Err(format!("fib: n={n} too large"));
    }
    let (result, elapsed) = timed(fib(n)).await;
    check("fib", result, fib_seq(n))?;
    Ok(Measurement { elapsed, ops: 1 + fib_spawns(n), result: Some(result) })
}

// ---------------------------------------------------------------------------
// yield: tasks tasks each call tokio::task::yield_now iters times.
// Measures the cost of a voluntary reschedule. ops = tasks*iters.

async fn bench_yield(p: Params) -> Outcome {
    let (tasks, iters) = (p["tasks"], p["iters"]);
    let ((), elapsed) = timed(async move {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                tokio::spawn(async move {
                    for _ in 0..iters {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        join_all(handles).await;
    })
    .await;
    Ok(Measurement { elapsed, ops: tasks * iters, result: None })
}

// ---------------------------------------------------------------------------
// sleep_timers: spawn tasks tasks that each sleep ms milliseconds; time until
// all have woken. Measures timer insertion/expiry at scale. ops = tasks.

async fn bench_sleep_timers(p: Params) -> Outcome {
    let (tasks, ms) = (p["tasks"], p["ms"]);
    let d = Duration::from_millis(ms);
    let ((), elapsed) = timed(async move {
        let handles: Vec<_> = (0..tasks).map(|_| tokio::spawn(tokio::time::sleep(d))).collect();
        join_all(handles).await;
    })
    .await;
    Ok(Measurement { elapsed, ops: tasks, result: None })
}

// ---------------------------------------------------------------------------
// pingpong: two tasks bounce a value through two mpsc channels of capacity 1
// (Tokio's closest thing to an unbuffered channel). Measures channel
// hand-off latency. ops = n round trips.

async fn bench_pingpong(p: Params) -> Outcome {
    let n = p["n"];
    let (result, elapsed) = timed(async move {
        let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
        // Echo side: returns each value plus one.
        let echo = tokio::spawn(async move {
            for _ in 0..n {
                let v = ping_rx.recv().await.expect("ping closed");
                pong_tx.send(v + 1).await.expect("pong closed");
            }
        });
        // Ping side (this task).
        let mut sum = 0u64;
        for i in 0..n {
            ping_tx.send(i).await.expect("ping closed");
            sum += pong_rx.recv().await.expect("pong closed");
        }
        echo.await.expect("echo task panicked");
        sum
    })
    .await;
    check("pingpong", result, n * (n + 1) / 2)?;
    Ok(Measurement { elapsed, ops: n, result: Some(result) })
}

// ---------------------------------------------------------------------------
// mpmc: producers tasks send items values (0..items split evenly) into one
// async_channel::bounded(cap); consumers tasks receive until it is closed
// (when the last sender drops). Measures contended bounded-channel
// throughput. ops = items.

async fn bench_mpmc(p: Params) -> Outcome {
    let (producers, consumers, cap, items) = (p["producers"], p["consumers"], p["cap"], p["items"]);
    let (result, elapsed) = timed(async move {
        let (tx, rx) = async_channel::bounded::<u64>(cap as usize);
        let cons: Vec<_> = (0..consumers)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut s = 0u64;
                    while let Ok(v) = rx.recv().await {
                        s += v;
                    }
                    s
                })
            })
            .collect();
        drop(rx);
        let prods: Vec<_> = (0..producers)
            .map(|i| {
                let tx = tx.clone();
                let (lo, hi) = split(items, producers, i);
                tokio::spawn(async move {
                    for v in lo..hi {
                        tx.send(v).await.expect("channel closed");
                    }
                })
            })
            .collect();
        drop(tx);
        join_all(prods).await;
        join_all(cons).await.into_iter().sum::<u64>()
    })
    .await;
    check("mpmc", result, items * (items - 1) / 2)?;
    Ok(Measurement { elapsed, ops: items, result: Some(result) })
}

// ---------------------------------------------------------------------------
// mutex: tasks tasks each lock a tokio::sync::Mutex, increment a shared
// counter and unlock, iters times. Measures contended async-mutex cost.
// ops = tasks*iters.

async fn bench_mutex(p: Params) -> Outcome {
    let (tasks, iters) = (p["tasks"], p["iters"]);
    let counter = Arc::new(tokio::sync::Mutex::new(0u64));
    let c = counter.clone();
    let ((), elapsed) = timed(async move {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move {
                    for _ in 0..iters {
                        *c.lock().await += 1;
                    }
                })
            })
            .collect();
        join_all(handles).await;
    })
    .await;
    let result = *counter.lock().await;
    check("mutex", result, tasks * iters)?;
    Ok(Measurement { elapsed, ops: tasks * iters, result: Some(result) })
}

// ---------------------------------------------------------------------------
// select: 4 producer tasks each feed one mpsc channel of capacity 1 with
// their quarter of 0..n; one consumer uses tokio::select! over the 4 channels
// until it has n values. Measures multi-channel select. ops = n.

async fn bench_select(p: Params) -> Outcome {
    let n = p["n"];
    let (result, elapsed) = timed(async move {
        let mut rxs = Vec::with_capacity(4);
        for i in 0..4 {
            let (tx, rx) = mpsc::channel::<u64>(1);
            rxs.push(rx);
            let (lo, hi) = split(n, 4, i);
            tokio::spawn(async move {
                for v in lo..hi {
                    tx.send(v).await.expect("select channel closed");
                }
            });
        }
        let [mut r0, mut r1, mut r2, mut r3]: [mpsc::Receiver<u64>; 4] = rxs.try_into().unwrap();
        let mut sum = 0u64;
        for _ in 0..n {
            // A branch whose channel is closed and drained yields None and is
            // disabled; `else` runs only if all four are.
            let v = tokio::select! {
                Some(v) = r0.recv() => v,
                Some(v) = r1.recv() => v,
                Some(v) = r2.recv() => v,
                Some(v) = r3.recv() => v,
                else => return Err("select: all channels closed early".to_string()),
            };
            sum += v;
        }
        Ok(sum)
    })
    .await;
    let result = result?;
    check("select", result, n * (n - 1) / 2)?;
    Ok(Measurement { elapsed, ops: n, result: Some(result) })
}

// ---------------------------------------------------------------------------

fn usage() {
    eprintln!("usage: tokio_bench <name> [key=value ...] [workers=N]");
    for w in WORKLOADS {
        let ks: Vec<String> = w.params.iter().map(|p| format!("{}={}", p.key, p.def)).collect();
        eprintln!("  {:<13} {}", w.name, ks.join(" "));
    }
}

fn fail(code: i32, msg: &str) -> ! {
    eprintln!("tokio_bench: {msg}");
    exit(code)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args[0] == "-h" || args[0] == "--help" {
        usage();
        exit(2);
    }
    let name = args[0].as_str();
    let w = WORKLOADS.iter().find(|w| w.name == name).unwrap_or_else(|| {
        usage();
        fail(2, &format!("unknown workload {name:?}"))
    });

    let mut params: Params = w.params.iter().map(|p| (p.key, p.def)).collect();
    let mut workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as u64;
    for arg in &args[1..] {
        let (k, v) = arg
            .split_once('=')
            .unwrap_or_else(|| fail(2, &format!("argument {arg:?} is not key=value")));
        let v: u64 = v
            .parse()
            .unwrap_or_else(|_| fail(2, &format!("{k}: value {v:?} is not a non-negative integer")));
        if k == "workers" {
            if v < 1 {
                fail(2, "workers must be >= 1");
            }
            workers = v;
            continue;
        }
        let p = w
            .params
            .iter()
            .find(|p| p.key == k)
            .unwrap_or_else(|| fail(2, &format!("{name}: unknown key {k:?}")));
        if v < p.min {
            fail(2, &format!("{name}: {k} must be >= {}", p.min));
        }
        params.insert(p.key, v);
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers as usize)
        .enable_time()
        .build()
        .unwrap_or_else(|e| fail(1, &format!("cannot start runtime: {e}")));

    let line_params: Vec<String> = w.params.iter().map(|p| format!("{}={}", p.key, params[p.key])).collect();
    let outcome = rt.block_on(async move {
        match name {
            "skynet" => bench_skynet(params).await,
            "spawn_join" => bench_spawn_join(params).await,
            "fib" => bench_fib(params).await,
            "yield" => bench_yield(params).await,
            "sleep_timers" => bench_sleep_timers(params).await,
            "pingpong" => bench_pingpong(params).await,
            "mpmc" => bench_mpmc(params).await,
            "mutex" => bench_mutex(params).await,
            "select" => bench_select(params).await,
            _ => unreachable!("workload table and dispatch disagree"),
        }
    });
    let m = outcome.unwrap_or_else(|e| fail(1, &e));

    let secs = m.elapsed.as_secs_f64();
    let mut line = format!(
        "{name} {} workers={workers} seconds={secs:.6} ops_per_sec={:.0} ns_per_op={:.2}",
        line_params.join(" "),
        m.ops as f64 / secs,
        m.elapsed.as_nanos() as f64 / m.ops as f64
    );
    if let Some(r) = m.result {
        line += &format!(" result={r}");
    }
    println!("{line}");
    // Do not wait for the runtime's shutdown (e.g. leftover timers) on exit.
    rt.shutdown_background();
}
