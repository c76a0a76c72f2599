package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/export"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a file or the server failed
	exitUsage  = 2
)

const usage = `usage:
  nemo-transcribe transcribe --server HOST:PORT --model NAME --out DIR --format json,srt,vtt,txt [--cache-dir DIR] FILE...
  nemo-transcribe status --server HOST:PORT [--json]

Run "nemo-transcribe COMMAND -h" for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "transcribe":
		return runTranscribe(ctx, args[1:], stdout, stderr)
	case "status":
		return runStatus(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "nemo-transcribe: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, as users type them.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

const defaultServer = "localhost:8001"

func runTranscribe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("transcribe", stderr)
	server := fs.String("server", defaultServer, "Triton gRPC address, host:port")
	model := fs.String("model", "parakeet-tdt-0.6b-v2", "model name on the server")
	out := fs.String("out", ".", "folder for the outputs (created if missing)")
	formats := fs.String("format", "json,srt,vtt,txt", "output formats, comma-separated: "+strings.Join(export.Formats, ","))
	cacheDir := fs.String("cache-dir", "", "folder for staged copies of inputs (default: the user cache folder)")
	concurrency := fs.Int("concurrency", transcribe.DefaultConcurrency, "chunks in flight to the server")
	timestamps := fs.Bool("timestamps", true, "ask the model for word timestamps")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for a model that is still loading")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "nemo-transcribe transcribe: no input files")
		return exitUsage
	}
	fmts, err := export.ParseFormats(*formats)
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe transcribe: --format: %v\n", err)
		return exitUsage
	}
	if *cacheDir == "" {
		if *cacheDir, err = config.DefaultCacheDir(); err != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: %v; set --cache-dir\n", err)
			return exitFailed
		}
	}
	for _, dir := range []string{*out, *cacheDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: cannot create folder %s: %v\n", dir, err)
			return exitFailed
		}
	}

	eng := transcribe.NewEngine()
	defer eng.Close()
	eng.ModelWait = *wait
	tty := isTerminal(stderr)
	lastNote := time.Time{}
	err = eng.OpenModel(ctx, *server, *model, func(elapsed time.Duration, state string) {
		if time.Since(lastNote) >= 5*time.Second || lastNote.IsZero() {
			fmt.Fprintf(stderr, "waiting for model %q on %s to be ready (%s, %s so far)\n", *model, *server, orUnknown(state), elapsed.Round(time.Second))
			lastNote = time.Now()
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
		return exitFailed
	}

	failed := 0
	for _, path := range files {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: %s: cancelled\n", path)
			failed++
			continue
		}
		req := transcribe.Request{
			Path: path, Server: *server, Model: *model, CacheDir: *cacheDir, OutDir: *out,
			Formats: fmts, Timestamps: *timestamps, Concurrency: *concurrency,
		}
		var bar progressLine
		res, err := eng.Transcribe(ctx, req, func(p transcribe.Progress) {
			if tty {
				bar.show(stderr, p)
			}
		})
		bar.clear(stderr)
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "nemo-transcribe: %s: %s\n", path, oneLine(reason(err)))
			continue
		}
		fmt.Fprintf(stdout, "%s -> %s\n", path, strings.Join(res.Outputs, ", "))
	}
	if failed > 0 {
		return exitFailed
	}
	return exitOK
}

// reason drops the engine's "base name: " prefix: the CLI's line already
// names the file as the user typed it.
func reason(err error) string {
	msg := apperr.Message(err)
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	if i := strings.Index(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func orUnknown(s string) string {
	if s == "" {
		return "state unknown"
	}
	return "state " + s
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", stderr)
	server := fs.String("server", defaultServer, "Triton gRPC address, host:port")
	asJSON := fs.Bool("json", false, "print JSON only")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if _, err := parseInterleaved(fs, args); err != nil {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	eng := transcribe.NewEngine()
	defer eng.Close()
	st, err := eng.ServerStatus(ctx, *server)
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return exitFailed
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "server %s: live=%v ready=%v %s %s\n", st.Address, st.Live, st.Ready, st.Name, st.Version)
	for _, m := range st.Models {
		fmt.Fprintf(stdout, "  %-28s ready=%-5v versions=%s inferences=%d executions=%d\n",
			m.Name, m.Ready, strings.Join(m.Versions, ","), m.InferenceCount, m.ExecutionCount)
	}
	return exitOK
}
