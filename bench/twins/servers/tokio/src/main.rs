//! tokio_server: the Tokio twins of weft's io examples, for bench/drivers/io_compare.py.
//!
//! Usage: tokio_server echo [addr=127.0.0.1:0] [workers=N]
//!        tokio_server http [addr=127.0.0.1:0] [workers=N]
//!
//! echo: a task per connection, a 4 KiB buffer, set_nodelay; read what arrives
//! and write it back (the twin of examples/echo_server.cpp).
//!
//! http: hyper 0.14's HTTP/1.1 server answering every request with
//! "Hello, World!" (the twin of examples/http_hello.cpp). Keep-alive is
//! hyper's default.
//!
//! Once listening, the server prints one line to stdout,
//!
//!     tokio_server <mode> listening on 127.0.0.1:PORT
//!
//! (addr=127.0.0.1:0 picks a free port: read it from that line), then serves
//! until it is killed. workers=N sets the multi-thread runtime's
//! worker_threads (default: the number of CPUs).

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::process::exit;

use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Request, Response, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn usage() -> ! {
    eprintln!("usage: tokio_server echo|http [addr=127.0.0.1:0] [workers=N]");
    exit(2)
}

fn announce(mode: &str, addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "tokio_server {} listening on {}", mode, addr);
    let _ = out.flush();
}

async fn echo(mut conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return, // EOF or a reset: done
            Ok(n) => {
                if conn.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn serve_echo(addr: SocketAddr) {
    let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
        eprintln!("tokio_server: bind {}: {}", addr, e);
        exit(1)
    });
    announce("echo", listener.local_addr().expect("local_addr"));
    loop {
        match listener.accept().await {
            Ok((conn, _)) => {
                tokio::spawn(echo(conn));
            }
            Err(e) => eprintln!("tokio_server: accept: {}", e),
        }
    }
}

async fn hello(_: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::builder()
        .header("Content-Type", "text/plain")
        .body(Body::from("Hello, World!"))
        .expect("response"))
}

async fn serve_http(addr: SocketAddr) {
    let make_svc = make_service_fn(|_conn| async { Ok::<_, Infallible>(service_fn(hello)) });
    let builder = Server::try_bind(&addr).unwrap_or_else(|e| {
        eprintln!("tokio_server: bind {}: {}", addr, e);
        exit(1)
    });
    let server = builder.http1_only(true).tcp_nodelay(true).serve(make_svc);
    announce("http", server.local_addr());
    if let Err(e) = server.await {
        eprintln!("tokio_server: {}", e);
        exit(1);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        usage();
    }
    let mode = args[1].clone();
    if mode != "echo" && mode != "http" {
        usage();
    }
    let mut addr: SocketAddr = "127.0.0.1:0".parse().expect("default address");
    let mut workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    for arg in &args[2..] {
        let (key, val) = arg.split_once('=').unwrap_or_else(|| usage());
        match key {
            "addr" => {
                addr = val.parse().unwrap_or_else(|_| {
                    eprintln!("tokio_server: bad address {:?}", val);
                    exit(2)
                })
            }
            "workers" => match val.parse::<usize>() {
                Ok(n) if n >= 1 => workers = n,
                _ => {
                    eprintln!("tokio_server: workers must be a positive integer, not {:?}", val);
                    exit(2)
                }
            },
            _ => {
                eprintln!("tokio_server: unknown key {:?}", key);
                exit(2)
            }
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_io()
        .enable_time()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        if mode == "echo" {
            serve_echo(addr).await
        } else {
            serve_http(addr).await
        }
    });
}
