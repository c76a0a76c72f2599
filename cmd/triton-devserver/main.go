// Command triton-devserver serves the Triton test server (package
// triton/tritontest) on TCP, for manual runs, demos and checks from outside
// Go tests. It hosts the dtmf model, which transcribes DTMF key presses,
// and the voices model, the speaker-embedding model of the same test
// recordings (dtmf-synth --voices writes them); --models picks which.
//
//	triton-devserver --addr 127.0.0.1:8001 [--latency 200ms] [--fail-rate 0.1 --seed 1] [--ready-after 5s]
//	    [--drop-rate 0.05] [--restart-every 30s --down-for 2s]
//	    [--tls-cert server.pem --tls-key server-key.pem [--tls-client-ca ca.pem]]
//	    [--max-batch 8 --batch-latency 100ms [--batch-window 5ms] [--max-queue N]] [--skip-compute] [--fp32-only]
//	    [--models dtmf,voices]
//
// It listens at once and prints one line when it accepts connections:
//
//	triton-devserver listening on 127.0.0.1:8001 (models: dtmf, voices)
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
	seed := fs.Int64("seed", 0, "seed that makes --fail-rate and --drop-rate repeatable (0: random)")
	dropRate := fs.Float64("drop-rate", 0, "fraction `F` (0..1) of inference requests during which the connection is closed")
	restartEvery := fs.Duration("restart-every", 0, "stop and start again on the same port this often, as a restarting Triton")
	downFor := fs.Duration("down-for", time.Second, "how long each --restart-every restart stays down")
	tlsCert := fs.String("tls-cert", "", "serve TLS with this certificate (PEM `FILE`), with --tls-key")
	tlsKey := fs.String("tls-key", "", "private key (PEM `FILE`) of --tls-cert")
	tlsClientCA := fs.String("tls-client-ca", "", "require client certificates signed by this CA (PEM `FILE`): mTLS")
	maxBatch := fs.Int("max-batch", 0, "dynamic batcher: most requests executed together `N` (default: the model's max_batch_size)")
	batchLatency := fs.Duration("batch-latency", 0, "dynamic batcher: simulated compute time of one batch")
	batchWindow := fs.Duration("batch-window", 0, "dynamic batcher: how long a batch that is not full waits for more")
	maxQueue := fs.Int("max-queue", 0, "dynamic batcher: refuse requests UNAVAILABLE beyond this many queued (0: no limit)")
	skipCompute := fs.Bool("skip-compute", false, "the dtmf model answers empty text without looking at the audio (throughput tests)")
	fp32Only := fs.Bool("fp32-only", false, "the dtmf model declares AUDIO (FP32) alone, as a plain Triton model does, not the compact AUDIO_PCM16 and AUDIO_FLAC")
	cancelRate := fs.Float64("cancel-rate", 0, "fraction `F` (0..1) of inference requests answered CANCELLED, as a proxy giving up would")
	unloaded := fs.String("unloaded", "", "comma-separated hosted `MODELS` that start on disk but not loaded (explicit model control)")
	onDisk := fs.String("on-disk", "", "comma-separated `NAMES` of repository folders that are no loadable model (listed in the index only)")
	failLoad := fs.String("fail-load", "", "`MODEL=REASON`: loading this hosted model fails with REASON (UNAVAILABLE in the index)")
	legacyReady := fs.Bool("legacy-model-ready", false, "answer ModelReady as Triton up to r26.06 (ready=false) instead of NOT_FOUND for a model that is not ready")
	namespacing := fs.Bool("namespacing", false, "answer unknown models INVALID_ARGUMENT, as Triton with --model-namespacing=true")
	hostList := fs.String("models", "dtmf,voices", "comma-separated test `MODELS` to host: dtmf (speech recognition), voices (speaker embeddings)")
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
	case *dropRate < 0 || *failRate+*dropRate > 1:
		fmt.Fprintf(stderr, "triton-devserver: --drop-rate %g must be between 0 and 1 - --fail-rate\n", *dropRate)
		return 2
	case *cancelRate < 0 || *failRate+*dropRate+*cancelRate > 1:
		fmt.Fprintf(stderr, "triton-devserver: --cancel-rate %g must be between 0 and 1 - --fail-rate - --drop-rate\n", *cancelRate)
		return 2
	case *failLoad != "" && !strings.Contains(*failLoad, "="):
		fmt.Fprintf(stderr, "triton-devserver: --fail-load %q: use MODEL=REASON\n", *failLoad)
		return 2
	case *restartEvery < 0 || *downFor < 0 || *batchLatency < 0 || *batchWindow < 0 || *maxBatch < 0 || *maxQueue < 0:
		fmt.Fprintln(stderr, "triton-devserver: durations and counts must not be negative")
		return 2
	case len(names(*hostList)) == 0:
		fmt.Fprintln(stderr, "triton-devserver: --models names no model (dtmf, voices)")
		return 2
	case (*tlsCert == "") != (*tlsKey == ""):
		fmt.Fprintln(stderr, "triton-devserver: --tls-cert and --tls-key go together")
		return 2
	case *tlsClientCA != "" && *tlsCert == "":
		fmt.Fprintln(stderr, "triton-devserver: --tls-client-ca needs --tls-cert and --tls-key")
		return 2
	}

	opts := tritontest.Options{
		Latency:    *latency,
		FailRate:   *failRate,
		DropRate:   *dropRate,
		ReadyAfter: *readyAfter,
		Seed:       *seed,
		CancelRate: *cancelRate,

		Unloaded:         names(*unloaded),
		OnDisk:           names(*onDisk),
		LegacyModelReady: *legacyReady,
		Namespacing:      *namespacing,
	}
	if name, reason, ok := strings.Cut(*failLoad, "="); ok {
		opts.LoadFailures = map[string]string{strings.TrimSpace(name): reason}
	}
	hosted, err := hostedModels(names(*hostList), tritontest.DTMFOptions{SkipCompute: *skipCompute, FP32Only: *fp32Only})
	if err != nil {
		fmt.Fprintf(stderr, "triton-devserver: %v\n", err)
		return 2
	}
	opts.Models = hosted
	if *maxBatch > 0 || *batchLatency > 0 || *batchWindow > 0 || *maxQueue > 0 {
		opts.Batching = &tritontest.Batching{MaxBatch: *maxBatch, Latency: *batchLatency, Window: *batchWindow, MaxQueue: *maxQueue}
	}
	if *tlsCert != "" {
		tc, err := tritontest.LoadServerTLS(*tlsCert, *tlsKey, *tlsClientCA)
		if err != nil {
			fmt.Fprintf(stderr, "triton-devserver: TLS: %v\n", err)
			return 1
		}
		opts.TLS = tc
	}
	if *restartEvery > 0 {
		return runRestarting(ctx, *addr, opts, *restartEvery, *downFor, stdout, stderr)
	}

	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "triton-devserver: %v\n", err)
		return 1
	}
	srv := tritontest.New(opts)
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

// runRestarting serves like run but stops the server every `every` and
// starts it again on the same port after `down`, as a Triton that is
// restarted (calls in flight fail; clients must reconnect).
func runRestarting(ctx context.Context, addr string, opts tritontest.Options, every, down time.Duration, stdout, stderr io.Writer) int {
	p, err := tritontest.ListenProcess(addr, opts)
	if err != nil {
		fmt.Fprintf(stderr, "triton-devserver: %v\n", err)
		return 1
	}
	defer p.Stop()
	fmt.Fprintf(stdout, "triton-devserver listening on %s (models: %s)\n", p.Addr(), strings.Join(p.Server().Models(), ", "))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.Server().StopWithin(stopGrace)
			return 0
		case <-t.C:
		}
		fmt.Fprintf(stderr, "triton-devserver: restarting (down for %s)\n", down)
		p.Stop()
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(down):
		}
		if err := p.Start(); err != nil {
			fmt.Fprintf(stderr, "triton-devserver: %v\n", err)
			return 1
		}
	}
}

// hostedModels are the test models named by --models, in that order.
func hostedModels(list []string, dtmfOpts tritontest.DTMFOptions) ([]tritontest.Model, error) {
	var out []tritontest.Model
	seen := map[string]bool{}
	for _, name := range list {
		if seen[name] {
			return nil, fmt.Errorf("--models names %s twice", name)
		}
		seen[name] = true
		switch name {
		case tritontest.DTMFModelName:
			out = append(out, tritontest.DTMFWith(dtmfOpts))
		case tritontest.VoicesModelName:
			out = append(out, tritontest.Voices())
		default:
			return nil, fmt.Errorf("--models: no test model %q (there are %s and %s)", name, tritontest.DTMFModelName, tritontest.VoicesModelName)
		}
	}
	return out, nil
}

// names splits a comma-separated flag value, dropping blanks.
func names(list string) []string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
