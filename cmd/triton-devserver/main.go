// Command triton-devserver serves the Triton test server (package
// triton/tritontest) on TCP, for manual runs, demos and checks from outside
// Go tests. It hosts the dtmf model, which transcribes DTMF key presses.
//
//	triton-devserver --addr 127.0.0.1:8001 [--latency 200ms] [--fail-rate 0.1 --seed 1] [--ready-after 5s]
//
// It listens at once and prints one line when it accepts connections:
//
//	triton-devserver listening on 127.0.0.1:8001 (models: dtmf)
//
// With --addr 127.0.0.1:0 the line carries the port the system chose.
// SIGINT or SIGTERM stops it gracefully (calls in flight get a short grace
// period) and it exits with status 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// stopGrace is how long calls in flight may take to finish on shutdown.
const stopGrace = 2 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, serves until ctx ends and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("triton-devserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8001", "`host:port` to listen on (port 0 picks a free port)")
	latency := fs.Duration("latency", 0, "delay added to every inference request")
	failRate := fs.Float64("fail-rate", 0, "fraction `F` (0..1) of inference requests answered UNAVAILABLE")
	readyAfter := fs.Duration("ready-after", 0, "models report LOADING (not ready) for this long after start")
	seed := fs.Int64("seed", 0, "seed that makes --fail-rate repeatable (0: random)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "triton-devserver: unexpected arguments %q\n", fs.Args())
		return 2
	case *failRate < 0 || *failRate > 1:
		fmt.Fprintf(stderr, "triton-devserver: --fail-rate %g is not between 0 and 1\n", *failRate)
		return 2
	case *latency < 0 || *readyAfter < 0:
		fmt.Fprintln(stderr, "triton-devserver: --latency and --ready-after must not be negative")
		return 2
	}

	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "triton-devserver: %v\n", err)
		return 1
	}
	srv := tritontest.New(tritontest.Options{
		Latency:    *latency,
		FailRate:   *failRate,
		ReadyAfter: *readyAfter,
		Seed:       *seed,
	})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	fmt.Fprintf(stdout, "triton-devserver listening on %s (models: %s)\n", lis.Addr(), strings.Join(srv.Models(), ", "))

	select {
	case <-ctx.Done():
		srv.StopWithin(stopGrace)
		<-served
		return 0
	case err := <-served:
		fmt.Fprintf(stderr, "triton-devserver: %v\n", err)
		return 1
	}
}
