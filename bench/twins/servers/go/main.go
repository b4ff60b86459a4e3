// go_server: the Go twins of weft's io examples, for bench/drivers/io_compare.py.
//
// Usage:
//
//	go_server echo [addr=127.0.0.1:0] [workers=N]
//	go_server http [addr=127.0.0.1:0] [workers=N]
//
// echo: a goroutine per connection, a 4 KiB buffer, TCP_NODELAY; read what
// arrives and write it back (the twin of examples/echo_server.cpp).
//
// http: net/http answering every request with "Hello, World!" (the twin of
// examples/http_hello.cpp). Keep-alive is net/http's default.
//
// Once listening, the server prints one line to stdout,
//
//	go_server <mode> listening on 127.0.0.1:PORT
//
// (addr=127.0.0.1:0 picks a free port: read it from that line), then serves
// until it is killed. workers=N sets GOMAXPROCS (default: GOMAXPROCS from the
// environment, else the number of CPUs). Standard library only.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go_server echo|http [addr=127.0.0.1:0] [workers=N]")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	mode := os.Args[1]
	addr := "127.0.0.1:0"
	for _, arg := range os.Args[2:] {
		key, val, ok := strings.Cut(arg, "=")
		if !ok {
			usage()
		}
		switch key {
		case "addr":
			addr = val
		case "workers":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				fmt.Fprintf(os.Stderr, "go_server: workers must be a positive integer, not %q\n", val)
				os.Exit(2)
			}
			runtime.GOMAXPROCS(n)
		default:
			fmt.Fprintf(os.Stderr, "go_server: unknown key %q\n", key)
			os.Exit(2)
		}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go_server: %v\n", err)
		os.Exit(1)
	}
	switch mode {
	case "echo":
		announce(mode, ln)
		serveEcho(ln)
	case "http":
		announce(mode, ln)
		serveHTTP(ln)
	default:
		usage()
	}
}

func announce(mode string, ln net.Listener) {
	fmt.Printf("go_server %s listening on %s\n", mode, ln.Addr())
	os.Stdout.Sync()
}

func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go_server: accept: %v\n", err)
			continue
		}
		go echo(c.(*net.TCPConn))
	}
}

func echo(c *net.TCPConn) {
	defer c.Close()
	c.SetNoDelay(true) // Go's default already; said here so the twins read alike
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // io.EOF or a reset: done
			return
		}
	}
}

var hello = []byte("Hello, World!")

func serveHTTP(ln net.Listener) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "13")
		w.Write(hello)
	})
	if err := http.Serve(ln, h); err != nil {
		fmt.Fprintf(os.Stderr, "go_server: %v\n", err)
		os.Exit(1)
	}
}
