// go_bench: the Go twin of weft's scheduler/sync benchmarks.
//
// Usage: go_bench <name> [key=value ...]
//
// Each run prints exactly one line:
//
//	<name> key=value ... workers=N seconds=S ops_per_sec=O ns_per_op=N [result=R]
//
// workers=N sets GOMAXPROCS (default: number of CPUs). Timing is wall clock,
// taken inside the workload after the runtime has started. The program exits
// non-zero on an unknown workload or key, a bad value, or a wrong result.
//
// Only the standard library is used, so it builds with no module downloads.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// param is one workload parameter with its default and smallest legal value.
type param struct {
	key string
	def int64
	min int64
}

// measurement is what a workload reports back to main.
type measurement struct {
	elapsed   time.Duration
	ops       int64
	result    int64
	hasResult bool
}

type workload struct {
	name   string
	params []param
	run    func(p map[string]int64) (measurement, error)
}

var workloads = []workload{
	{"skynet", []param{{"size", 1000000, 1}, {"div", 10, 2}}, benchSkynet},
	{"spawn_join", []param{{"n", 1000000, 1}}, benchSpawnJoin},
	{"fib", []param{{"n", 30, 0}}, benchFib},
	{"yield", []param{{"tasks", 1000, 1}, {"iters", 1000, 1}}, benchYield},
	{"sleep_timers", []param{{"tasks", 100000, 1}, {"ms", 1, 0}}, benchSleepTimers},
	{"pingpong", []param{{"n", 1000000, 1}}, benchPingPong},
	{"mpmc", []param{{"producers", 4, 1}, {"consumers", 4, 1}, {"cap", 1024, 1}, {"items", 10000000, 1}}, benchMPMC},
	{"mutex", []param{{"tasks", 1000, 1}, {"iters", 1000, 1}}, benchMutex},
	{"select", []param{{"n", 1000000, 1}}, benchSelect},
}

// split returns the half-open range [lo, hi) of 0..total owned by part i of parts.
func split(total, parts, i int64) (int64, int64) {
	base, rem := total/parts, total%parts
	lo := i*base + min64(i, rem)
	hi := lo + base
	if i < rem {
		hi++
	}
	return lo, hi
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func wrong(what string, got, want int64) error {
	return fmt.Errorf("wrong result for %s: got %d, want %d", what, got, want)
}

// ---------------------------------------------------------------------------
// skynet: recursive fan-out/fan-in. Every task with size > 1 spawns div
// children and sums their answers (sent back over one buffered channel per
// parent, the classic Go skynet). Measures spawn + completion + wake-up cost.
// ops = total tasks spawned, root included (1111111 for size=1e6 div=10).

func skynet(out chan<- int64, num, size, div int64) {
	if size == 1 {
		out <- num
		return
	}
	ch := make(chan int64, div)
	child := size / div
	for i := int64(0); i < div; i++ {
		go skynet(ch, num+i*child, child, div)
	}
	var sum int64
	for i := int64(0); i < div; i++ {
		sum += <-ch
	}
	out <- sum
}

func skynetTasks(size, div int64) int64 {
	if size == 1 {
		return 1
	}
	return 1 + div*skynetTasks(size/div, div)
}

func benchSkynet(p map[string]int64) (measurement, error) {
	size, div := p["size"], p["div"]
	for s := size; s != 1; s /= div {
		if s%div != 0 {
			return measurement{}, fmt.Errorf("skynet: size=%d must be a power of div=%d", size, div)
		}
	}
	start := time.Now()
	out := make(chan int64, 1)
	go skynet(out, 0, size, div)
	result := <-out
	elapsed := time.Since(start)
	if want := size * (size - 1) / 2; result != want {
		return measurement{}, wrong("skynet", result, want)
	}
	return measurement{elapsed, skynetTasks(size, div), result, true}, nil
}

// ---------------------------------------------------------------------------
// spawn_join: one task spawns n trivial tasks (each returns its index), then
// joins them in spawn order and sums. A "join handle" in Go is a one-slot
// channel per task. Measures raw spawn + join cost. ops = n.

func benchSpawnJoin(p map[string]int64) (measurement, error) {
	n := p["n"]
	start := time.Now()
	done := make(chan int64, 1)
	go func() {
		handles := make([]chan int64, n)
		for i := range handles {
			h := make(chan int64, 1)
			handles[i] = h
			go func(i int64, h chan<- int64) { h <- i }(int64(i), h)
		}
		var sum int64
		for _, h := range handles {
			sum += <-h
		}
		done <- sum
	}()
	result := <-done
	elapsed := time.Since(start)
	if want := n * (n - 1) / 2; result != want {
		return measurement{}, wrong("spawn_join", result, want)
	}
	return measurement{elapsed, n, result, true}, nil
}

// ---------------------------------------------------------------------------
// fib: fork-join recursion. fib(n) spawns fib(n-1), computes fib(n-2) inline
// (a direct call in the same goroutine) and joins the spawned one.
// Measures fine-grained fork/join. ops = goroutines spawned, root included.

func fib(n int64) int64 {
	if n < 2 {
		return n
	}
	h := make(chan int64, 1)
	go func() { h <- fib(n - 1) }()
	b := fib(n - 2)
	return <-h + b
}

// fibSpawns counts the spawns fib(n) makes (the root not included).
func fibSpawns(n int64) int64 {
	a, b := int64(0), int64(0) // spawns(k-2), spawns(k-1); spawns(0) = spawns(1) = 0
	for k := int64(2); k <= n; k++ {
		a, b = b, 1+b+a
	}
	return b
}

func fibSeq(n int64) int64 {
	a, b := int64(0), int64(1)
	for i := int64(0); i < n; i++ {
		a, b = b, a+b
	}
	return a
}

func benchFib(p map[string]int64) (measurement, error) {
	n := p["n"]
	if n > 90 {
		return measurement{}, fmt.Errorf("fib: n=%d too large", n)
	}
	start := time.Now()
	done := make(chan int64, 1)
	go func() { done <- fib(n) }()
	result := <-done
	elapsed := time.Since(start)
	if want := fibSeq(n); result != want {
		return measurement{}, wrong("fib", result, want)
	}
	return measurement{elapsed, 1 + fibSpawns(n), result, true}, nil
}

// ---------------------------------------------------------------------------
// yield: tasks goroutines each call runtime.Gosched iters times.
// Measures the cost of a voluntary reschedule. ops = tasks*iters.

func benchYield(p map[string]int64) (measurement, error) {
	tasks, iters := p["tasks"], p["iters"]
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(int(tasks))
	for t := int64(0); t < tasks; t++ {
		go func() {
			for i := int64(0); i < iters; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return measurement{elapsed, tasks * iters, 0, false}, nil
}

// ---------------------------------------------------------------------------
// sleep_timers: spawn tasks goroutines that each sleep ms milliseconds; time
// until all have woken. Measures timer insertion/expiry at scale.
// ops = tasks.

func benchSleepTimers(p map[string]int64) (measurement, error) {
	tasks, ms := p["tasks"], p["ms"]
	d := time.Duration(ms) * time.Millisecond
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(int(tasks))
	for t := int64(0); t < tasks; t++ {
		go func() {
			time.Sleep(d)
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return measurement{elapsed, tasks, 0, false}, nil
}

// ---------------------------------------------------------------------------
// pingpong: two goroutines bounce a value through two unbuffered channels.
// Measures channel hand-off latency (two blocking wake-ups per round trip).
// ops = n round trips.

func benchPingPong(p map[string]int64) (measurement, error) {
	n := p["n"]
	start := time.Now()
	ping, pong := make(chan int64), make(chan int64)
	done := make(chan int64, 1)
	go func() { // echo side: returns each value plus one
		for i := int64(0); i < n; i++ {
			pong <- (<-ping) + 1
		}
	}()
	go func() { // ping side
		var sum int64
		for i := int64(0); i < n; i++ {
			ping <- i
			sum += <-pong
		}
		done <- sum
	}()
	result := <-done
	elapsed := time.Since(start)
	if want := n * (n + 1) / 2; result != want {
		return measurement{}, wrong("pingpong", result, want)
	}
	return measurement{elapsed, n, result, true}, nil
}

// ---------------------------------------------------------------------------
// mpmc: producers goroutines send items values (0..items split evenly) into
// one buffered channel of capacity cap; consumers goroutines receive until it
// is closed. Measures contended bounded-channel throughput. ops = items.

func benchMPMC(p map[string]int64) (measurement, error) {
	producers, consumers, capacity, items := p["producers"], p["consumers"], p["cap"], p["items"]
	start := time.Now()
	ch := make(chan int64, capacity)
	partial := make(chan int64, consumers)
	for c := int64(0); c < consumers; c++ {
		go func() {
			var s int64
			for v := range ch {
				s += v
			}
			partial <- s
		}()
	}
	var pwg sync.WaitGroup
	pwg.Add(int(producers))
	for i := int64(0); i < producers; i++ {
		lo, hi := split(items, producers, i)
		go func() {
			for v := lo; v < hi; v++ {
				ch <- v
			}
			pwg.Done()
		}()
	}
	pwg.Wait()
	close(ch)
	var result int64
	for c := int64(0); c < consumers; c++ {
		result += <-partial
	}
	elapsed := time.Since(start)
	if want := items * (items - 1) / 2; result != want {
		return measurement{}, wrong("mpmc", result, want)
	}
	return measurement{elapsed, items, result, true}, nil
}

// ---------------------------------------------------------------------------
// mutex: tasks goroutines each lock a sync.Mutex, increment a shared counter
// and unlock, iters times. Measures contended mutex cost. ops = tasks*iters.

func benchMutex(p map[string]int64) (measurement, error) {
	tasks, iters := p["tasks"], p["iters"]
	start := time.Now()
	var mu sync.Mutex
	var counter int64
	var wg sync.WaitGroup
	wg.Add(int(tasks))
	for t := int64(0); t < tasks; t++ {
		go func() {
			for i := int64(0); i < iters; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	mu.Lock()
	result := counter
	mu.Unlock()
	if want := tasks * iters; result != want {
		return measurement{}, wrong("mutex", result, want)
	}
	return measurement{elapsed, tasks * iters, result, true}, nil
}

// ---------------------------------------------------------------------------
// select: 4 producer goroutines each feed one unbuffered channel with their
// quarter of 0..n; one consumer selects over the 4 channels until it has n
// values. Measures multi-channel select. ops = n.

func benchSelect(p map[string]int64) (measurement, error) {
	n := p["n"]
	start := time.Now()
	var chans [4]chan int64
	for i := range chans {
		chans[i] = make(chan int64)
		lo, hi := split(n, 4, int64(i))
		go func(c chan<- int64) {
			for v := lo; v < hi; v++ {
				c <- v
			}
		}(chans[i])
	}
	done := make(chan int64, 1)
	go func() {
		var sum int64
		for got := int64(0); got < n; got++ {
			select {
			case v := <-chans[0]:
				sum += v
			case v := <-chans[1]:
				sum += v
			case v := <-chans[2]:
				sum += v
			case v := <-chans[3]:
				sum += v
			}
		}
		done <- sum
	}()
	result := <-done
	elapsed := time.Since(start)
	if want := n * (n - 1) / 2; result != want {
		return measurement{}, wrong("select", result, want)
	}
	return measurement{elapsed, n, result, true}, nil
}

// ---------------------------------------------------------------------------

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go_bench <name> [key=value ...] [workers=N]")
	for _, w := range workloads {
		var ks []string
		for _, p := range w.params {
			ks = append(ks, fmt.Sprintf("%s=%d", p.key, p.def))
		}
		fmt.Fprintf(os.Stderr, "  %-13s %s\n", w.name, strings.Join(ks, " "))
	}
}

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go_bench: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	var w *workload
	for i := range workloads {
		if workloads[i].name == name {
			w = &workloads[i]
		}
	}
	if w == nil {
		usage()
		fail(2, "unknown workload %q", name)
	}

	vals := map[string]int64{}
	for _, p := range w.params {
		vals[p.key] = p.def
	}
	workers := int64(runtime.NumCPU())
	for _, arg := range os.Args[2:] {
		k, v, ok := strings.Cut(arg, "=")
		if !ok {
			fail(2, "argument %q is not key=value", arg)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fail(2, "%s: value %q is not an integer", k, v)
		}
		if k == "workers" {
			if n < 1 {
				fail(2, "workers must be >= 1")
			}
			workers = n
			continue
		}
		known := false
		for _, p := range w.params {
			if p.key == k {
				known = true
				if n < p.min {
					fail(2, "%s: %s must be >= %d", name, k, p.min)
				}
			}
		}
		if !known {
			fail(2, "%s: unknown key %q", name, k)
		}
		vals[k] = n
	}
	runtime.GOMAXPROCS(int(workers))

	m, err := w.run(vals)
	if err != nil {
		fail(1, "%v", err)
	}

	var b strings.Builder
	b.WriteString(name)
	for _, p := range w.params {
		fmt.Fprintf(&b, " %s=%d", p.key, vals[p.key])
	}
	secs := m.elapsed.Seconds()
	fmt.Fprintf(&b, " workers=%d seconds=%.6f ops_per_sec=%.0f ns_per_op=%.2f",
		workers, secs, float64(m.ops)/secs, float64(m.elapsed.Nanoseconds())/float64(m.ops))
	if m.hasResult {
		fmt.Fprintf(&b, " result=%d", m.result)
	}
	fmt.Println(b.String())
}
