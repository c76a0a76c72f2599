package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/export"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a file or the server failed
	exitUsage  = 2
)

const usage = `usage:
  nemo-transcribe transcribe --server HOST:PORT --model NAME --out DIR --format json,srt,vtt,txt [--cache-dir DIR]
                  [--tls ...] [--decoder auto|builtin|ffmpeg] [--channel N]
                  [--speakers auto|N [--min-speakers N] [--max-speakers N] [--speaker-model NAME]] FILE...
  nemo-transcribe status --server HOST:PORT [--tls ...] [--json]
  nemo-transcribe live --server HOST:PORT --model NAME --from-file FILE [--speed X] [--out DIR --format LIST] [--json]
  nemo-transcribe history list [--limit N] [--json]
  nemo-transcribe history search [--json] WORDS...
  nemo-transcribe history export [--out DIR] [--format LIST] ID...
  nemo-transcribe history rename-speaker ID OLD NEW
  nemo-transcribe history diarize --server HOST:PORT [--speakers auto|N] ID...

Run "nemo-transcribe COMMAND -h" for a command's flags.
`

// command is one subcommand: it parses its own flags and returns the exit code.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) int

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, "nemo-transcribe", usage, map[string]command{
		"transcribe": runTranscribe,
		"status":     runStatus,
		"history":    runHistory,
		"live":       runLive,
	}, args, stdout, stderr)
}

// dispatch runs the subcommand args[0] names, or prints usage.
func dispatch(ctx context.Context, name, usage string, cmds map[string]command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	if cmd, ok := cmds[args[0]]; ok {
		return cmd(ctx, args[1:], stdout, stderr)
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n%s", name, args[0], usage)
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

// dataDirFlag adds --data-dir to fs.
func dataDirFlag(fs *flag.FlagSet) *string {
	return fs.String("data-dir", "", "folder for the app's database: finished chunks, transcripts, history (default: the user data folder)")
}

// resolveDataDir fills in the default data folder.
func resolveDataDir(dir *string, stderr io.Writer) bool {
	if *dir != "" {
		return true
	}
	d, err := config.DefaultDataDir()
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %v; set --data-dir\n", err)
		return false
	}
	*dir = d
	return true
}

// tasks maps what users type for --task to the contract's values.
var tasks = map[string]string{"transcribe": "asr", "asr": "asr", "translate": "ast", "ast": "ast"}

func runTranscribe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("transcribe", stderr)
	conn := addConnFlags(fs, defaultServer)
	model := fs.String("model", "parakeet-tdt-0.6b-v2", "model name on the server")
	out := fs.String("out", ".", "folder for the outputs (created if missing)")
	formats := fs.String("format", "json,srt,vtt,txt", "output formats, comma-separated: "+strings.Join(export.Formats, ","))
	cacheDir := fs.String("cache-dir", "", "folder for staged copies of inputs (default: the user cache folder)")
	cacheMax := fs.String("cache-max", "10GB", "`SIZE` the staged copies may take, e.g. 500MB or 20GB (least recently used go first), or none")
	decoder := fs.String("decoder", "auto", "audio decoder `MODE`: auto (ffmpeg when installed, else built-in), builtin or ffmpeg")
	ffmpegPath := fs.String("ffmpeg", "", "ffmpeg executable `PATH` (default: $NEMO_TRANSCRIBE_FFMPEG or ffmpeg on PATH)")
	channel := fs.Int("channel", -1, "transcribe only channel `N` of a multichannel file, counting from 0 (-1: average all channels)")
	dataDir := dataDirFlag(fs)
	concurrency := fs.Int("concurrency", transcribe.DefaultConcurrency, "ModelInfer requests in flight to the server, shared by all files")
	chunkSeconds := fs.Float64("chunk-seconds", transcribe.DefaultChunkSeconds, "longest chunk sent to the model, in seconds")
	timestamps := fs.Bool("timestamps", true, "ask the model for word timestamps")
	txtTimestamps := fs.Bool("txt-timestamps", false, "start each line of the txt output with its times")
	sourceLang := fs.String("source-lang", "", "language spoken, e.g. en (multilingual models)")
	targetLang := fs.String("target-lang", "", "language to write, e.g. de (translation models)")
	task := fs.String("task", "", "transcribe or translate (models that can do both)")
	var pnc optionalBool
	fs.Var(&pnc, "pnc", "punctuation and capitalisation, --pnc or --pnc=false (sent only when given)")
	force := fs.Bool("force", false, "transcribe again even when this exact request has a stored result")
	overwrite := fs.Bool("overwrite", false, "replace existing output files")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for a model that is still loading")
	progressMode := fs.String("progress", "auto", "progress display: auto (bars on a terminal, else none), bars, plain or none")
	spk := addSpeakerFlags(fs)
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "nemo-transcribe transcribe: "+format+"\n", args...)
		return exitUsage
	}
	if len(files) == 0 {
		return usageErr("no input files")
	}
	speakerOpts, err := spk.options(false)
	if err != nil {
		return usageErr("%v", err)
	}
	cfg, err := conn()
	if err != nil {
		return usageErr("%v", err)
	}
	server := connLabel(cfg)
	maxBytes, err := parseSize(*cacheMax)
	if err != nil {
		return usageErr("--cache-max: %v", err)
	}
	if _, err := audio.ParseDecoderMode(*decoder); err != nil {
		return usageErr("--decoder %q: use auto, builtin or ffmpeg", *decoder)
	}
	if *channel < -1 {
		return usageErr("--channel %d: use a channel number from 0, or -1 to average all channels", *channel)
	}
	var channelSel *int
	if *channel >= 0 {
		channelSel = channel
	}
	fmts, err := export.ParseFormats(*formats)
	if err != nil {
		return usageErr("--format: %v", err)
	}
	if *concurrency < 1 {
		return usageErr("--concurrency must be at least 1")
	}
	if !(*chunkSeconds >= 1 && *chunkSeconds <= 600) {
		return usageErr("--chunk-seconds must be between 1 and 600")
	}
	taskValue := ""
	if *task != "" {
		if taskValue = tasks[strings.ToLower(*task)]; taskValue == "" {
			return usageErr("--task %q: use transcribe or translate", *task)
		}
	}
	disp, ok := newDisplay(*progressMode, stdout, stderr)
	if !ok {
		return usageErr("--progress %q: use auto, bars, plain or none", *progressMode)
	}
	if *cacheDir == "" {
		if *cacheDir, err = config.DefaultCacheDir(); err != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: %v; set --cache-dir\n", err)
			return exitFailed
		}
	}
	if !resolveDataDir(dataDir, stderr) {
		return exitFailed
	}
	for _, dir := range []string{*out, *cacheDir, *dataDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: cannot create folder %s: %v\n", dir, err)
			return exitFailed
		}
	}

	eng, err := transcribe.Open(transcribe.Config{DataDir: *dataDir, CacheDir: *cacheDir, CacheMaxBytes: maxBytes,
		Concurrency: *concurrency, ChunkSeconds: *chunkSeconds, ModelWait: *wait, Connect: connectWith(cfg)})
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
		return exitFailed
	}
	defer eng.Close()
	c, err := eng.Cache(ctx, *cacheDir)
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
		return exitFailed
	}
	// Only a visible progress display gets extra lines: without one,
	// stderr carries exactly one line per failed file.
	if _, silent := disp.(quiet); !silent {
		for _, w := range c.Warnings() {
			disp.println(stderr, "warning: "+oneLine(w.Message))
		}
	}
	lastNote := time.Time{}
	err = eng.OpenModel(ctx, server, *model, func(elapsed time.Duration, state string) {
		if time.Since(lastNote) >= 5*time.Second || lastNote.IsZero() {
			fmt.Fprintf(stderr, "waiting for model %q on %s to be ready (%s, %s so far)\n", *model, server, orUnknown(state), elapsed.Round(time.Second))
			lastNote = time.Now()
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
		return exitFailed
	}
	// A server without the speaker model fails here, before any file.
	if speakerOpts != nil {
		if _, err := eng.SpeakerModel(ctx, server, speakerOpts.Model); err != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
			return exitFailed
		}
	}

	q := transcribe.NewQueue(eng, transcribe.QueueOptions{})
	rep := newReporter(disp, stdout, stderr)
	unsubscribe := q.Subscribe(rep.event)
	for _, path := range files {
		id, err := q.Add(transcribe.Request{
			Path: path, Server: server, Model: *model, CacheDir: *cacheDir, OutDir: *out, Formats: fmts,
			Timestamps: *timestamps, SourceLang: *sourceLang, TargetLang: *targetLang, Task: taskValue, PNC: pnc.value(),
			ChunkSeconds: *chunkSeconds, Force: *force, Overwrite: *overwrite, TXTTimestamps: *txtTimestamps,
			Decoder: *decoder, FFmpegPath: *ffmpegPath, Channel: channelSel, Speakers: speakerOpts,
		})
		if err != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: %v\n", err)
			return exitFailed
		}
		rep.expect(id, path)
	}
	if err := q.Wait(ctx); err != nil { // interrupted: stop the rest, report them cancelled
		q.CancelAll()
		_ = q.Wait(context.Background())
	}
	q.Close()
	unsubscribe()
	rep.finish(q.Jobs())
	disp.close()
	if rep.failed > 0 {
		return exitFailed
	}
	return exitOK
}

// connectWith makes the engine connect as the flags say. The engine asks
// for the server by connLabel(cfg), the name every request carries.
func connectWith(cfg inference.Config) func(string) (*inference.Server, error) {
	return func(string) (*inference.Server, error) { return inference.ConnectConfig(cfg) }
}

// parseSize reads a size such as 500MB, 10GB, 1.5G or 2048 (bytes); units
// are binary (1 KB = 1024 bytes), as file managers count. "none" means no
// cap (-1).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "NONE" || t == "UNLIMITED" {
		return -1, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I") // GB, GiB, G
	mult := 1.0
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGT", t[n-1]); i >= 0 {
			mult = math.Pow(1024, float64(i+1))
			t = strings.TrimSpace(t[:n-1])
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v > 0) || math.IsInf(v*mult, 0) || v*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a size: use e.g. 500MB, 10GB or none", s)
	}
	return int64(math.Ceil(v * mult)), nil
}

// optionalBool is a boolean flag that also knows whether it was given.
type optionalBool struct {
	set, v bool
}

func (o *optionalBool) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatBool(o.v)
}

func (o *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	o.set, o.v = true, v
	return nil
}

func (o *optionalBool) IsBoolFlag() bool { return true }

// value is nil when the flag was not given.
func (o *optionalBool) value() *bool {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}

// jobReason is a failed job's line, pointing at the flag that helps.
func jobReason(j transcribe.Job) string {
	msg := j.Error
	if j.ErrorCode == string(apperr.CodeFile) && strings.Contains(msg, "already exist") {
		msg += " (use --overwrite to replace it)"
	}
	return oneLine(msg)
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
	conn := addConnFlags(fs, defaultServer)
	asJSON := fs.Bool("json", false, "print JSON only")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if _, err := parseInterleaved(fs, args); err != nil {
		return exitUsage
	}
	cfg, err := conn()
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe status: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	eng, err := transcribe.Open(transcribe.Config{Connect: connectWith(cfg)})
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
		return exitFailed
	}
	defer eng.Close()
	st, err := eng.ServerStatus(ctx, connLabel(cfg))
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(withSpeakerModels(st)); err != nil {
			return exitFailed
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "server %s: live=%v ready=%v %s %s\n", st.Address, st.Live, st.Ready, st.Name, st.Version)
	for _, m := range st.Models {
		fmt.Fprintf(stdout, "  %-28s ready=%-5v versions=%s inferences=%d executions=%d audio=%s\n",
			m.Name, m.Ready, strings.Join(m.Versions, ","), m.InferenceCount, m.ExecutionCount, audioFormWord(m.AudioInput))
		for _, w := range m.Warnings {
			fmt.Fprintf(stdout, "    warning: %s\n", w)
		}
	}
	return exitOK
}
