package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/export"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/live"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// micUnsupported is why live needs --from-file: capturing the microphone
// from Go takes a native audio library (ALSA, CoreAudio, WASAPI) through
// cgo, which this build does not link.
const micUnsupported = "recording the microphone from the command line is not supported on this platform " +
	"(this build has no native audio capture); use --from-file FILE to play a recording as if it were the microphone, " +
	"or Record in the desktop app"

// liveFeedFrame is how much audio one Feed carries: what a microphone
// callback typically delivers.
const liveFeedFrame = 20 * time.Millisecond

func runLive(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("live", stderr)
	conn := addConnFlags(fs, defaultServer)
	model := fs.String("model", "parakeet-tdt-0.6b-v2", "model name on the server")
	fromFile := fs.String("from-file", "", "play this audio `FILE` into the session as if it were the microphone")
	speed := fs.Float64("speed", 1, "with --from-file, feed the file `X` times faster than real time")
	out := fs.String("out", "", "when the session ends, write its transcript into this folder (created if missing)")
	formats := fs.String("format", "json,srt,vtt,txt", "output formats with --out, comma-separated: "+strings.Join(export.Formats, ","))
	overwrite := fs.Bool("overwrite", false, "replace existing output files")
	asJSON := fs.Bool("json", false, `print one JSON object a line for each partial and final result: {"type","start","end","text","words","latency_ms"}`)
	dataDir := dataDirFlag(fs)
	decoder := fs.String("decoder", "auto", "audio decoder `MODE` for --from-file: auto, builtin or ffmpeg")
	chunkSeconds := fs.Float64("chunk-seconds", transcribe.DefaultChunkSeconds, "longest clip sent to the model; longer utterances are split at a pause")
	partialEvery := fs.Duration("partial-every", 300*time.Millisecond, "audio between partial results")
	pause := fs.Duration("pause", 450*time.Millisecond, "quiet that ends an utterance")
	timestamps := fs.Bool("timestamps", true, "ask the model for word timestamps")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for a model that is still loading")
	drain := fs.Duration("drain", 2*time.Minute, "at the end, how long to keep sending utterances the server has not answered yet")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "nemo-transcribe live: "+format+"\n", args...)
		return exitUsage
	}
	switch {
	case len(rest) > 0:
		return usageErr("unexpected arguments %q (the audio comes from --from-file)", rest)
	case *fromFile == "":
		return usageErr("%s", micUnsupported)
	case !(*speed > 0) || math.IsInf(*speed, 0):
		return usageErr("--speed %g: must be more than 0", *speed)
	case !(*chunkSeconds >= 1 && *chunkSeconds <= 600):
		return usageErr("--chunk-seconds must be between 1 and 600")
	case *partialEvery < 50*time.Millisecond:
		return usageErr("--partial-every %s: at least 50ms", *partialEvery)
	case *pause < 100*time.Millisecond:
		return usageErr("--pause %s: at least 100ms", *pause)
	}
	cfg, err := conn()
	if err != nil {
		return usageErr("%v", err)
	}
	mode, err := audio.ParseDecoderMode(*decoder)
	if err != nil {
		return usageErr("--decoder %q: use auto, builtin or ffmpeg", *decoder)
	}
	var fmts []string
	if *out != "" {
		if fmts, err = export.ParseFormats(*formats); err != nil {
			return usageErr("--format: %v", err)
		}
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", oneLine(apperr.Message(err)))
		return exitFailed
	}
	if !resolveDataDir(dataDir, stderr) {
		return exitFailed
	}
	db, err := store.Open(*dataDir)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	liveDir := filepath.Join(*dataDir, "live")
	// Sessions a crash interrupted become history entries first.
	recovered, err := live.Recover(ctx, liveDir, db, live.RecoverOptions{})
	for _, r := range recovered {
		fmt.Fprintf(stderr, "recovered the interrupted live session %s: history entry %d, audio %s\n", r.ID, r.HistoryID, r.AudioPath)
	}
	if err != nil {
		fmt.Fprintf(stderr, "warning: %s\n", oneLine(err.Error()))
	}

	dec, err := audio.Open(*fromFile, audio.Options{Decoder: mode})
	if err != nil {
		return fail(apperr.New(apperr.CodeBadInput, err, "%s: %v", *fromFile, err))
	}
	defer dec.Close()

	srv, err := inference.ConnectConfig(cfg)
	if err != nil {
		return fail(err)
	}
	defer srv.Close()
	m, err := srv.OpenModel(ctx, *model, inference.WaitOptions{Timeout: *wait, OnWait: func(elapsed time.Duration, state string) {
		fmt.Fprintf(stderr, "waiting for model %q on %s to be ready (%s, %s so far)\n", *model, connLabel(cfg), orUnknown(state), elapsed.Round(time.Second))
	}})
	if err != nil {
		return fail(err)
	}

	p := &livePrinter{stdout: stdout, stderr: stderr, json: *asJSON}
	s, err := live.New(live.Config{
		Recognizer: m, Options: inference.Options{Timestamps: *timestamps}, Store: db, Dir: liveDir,
		Server: connLabel(cfg), Model: m.Name, ModelVersion: m.Version, ChunkSeconds: *chunkSeconds,
		PartialEvery: *partialEvery, VAD: live.VADOptions{Pause: *pause}, Emit: p.event,
	})
	if err != nil {
		return fail(err)
	}
	feedErr := feedFile(ctx, s, dec, *speed)
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *drain)
	res, closeErr := s.Close(closeCtx)
	cancel()
	code := exitOK
	if feedErr != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s: %s\n", *fromFile, oneLine(apperr.Message(feedErr)))
		code = exitFailed
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", oneLine(w))
	}
	if closeErr != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", oneLine(apperr.Message(closeErr)))
		code = exitFailed
	}
	if len(res.Untranscribed) > 0 {
		code = exitFailed
	}
	if *out != "" {
		outs, err := transcribe.Export(context.WithoutCancel(ctx), res.Transcript, transcribe.ExportOptions{
			OutDir: *out, Name: transcribe.Stem(*fromFile), Formats: fmts, Overwrite: *overwrite})
		if err != nil {
			msg := apperr.Message(err)
			var exists *transcribe.OutputExistsError
			if errors.As(err, &exists) {
				msg += " (use --overwrite to replace it)"
			}
			fmt.Fprintf(stderr, "nemo-transcribe: %s\n", oneLine(msg))
			return exitFailed
		}
		for _, o := range outs {
			fmt.Fprintf(stderr, "wrote %s\n", o)
		}
	}
	fmt.Fprintf(stderr, "live session %s saved: history entry %d, audio %s\n", res.ID, res.HistoryID, res.AudioPath)
	return code
}

// feedFile plays dec into s in frames of liveFeedFrame, speed times
// faster than real time, until the file ends or ctx is cancelled (Ctrl-C:
// the session is closed normally).
func feedFile(ctx context.Context, s *live.Session, dec *audio.Decoder, speed float64) error {
	frame := int(liveFeedFrame.Seconds() * audio.SampleRate)
	buf := make([]float32, frame)
	start := time.Now()
	var fed int64
	for ctx.Err() == nil {
		n, err := readFrame(dec, buf)
		if n > 0 {
			// The frame is "recorded" once its audio has gone by.
			due := start.Add(time.Duration(float64(fed+int64(n)) / audio.SampleRate / speed * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil
				}
			}
			if err := s.Feed(buf[:n]); err != nil {
				return err
			}
			fed += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readFrame fills buf from s, short only at the end (then with io.EOF).
func readFrame(s audio.Stream, buf []float32) (int, error) {
	n, stalls := 0, 0
	for n < len(buf) {
		k, err := s.Read(buf[n:])
		n += k
		switch {
		case err != nil:
			return n, err
		case k == 0:
			if stalls++; stalls >= 100 {
				return n, io.ErrNoProgress
			}
		}
	}
	return n, nil
}

// livePrinter prints a session's results: JSON lines, or one line per
// final; notices go to stderr.
type livePrinter struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
	json           bool
}

// liveLine is the public --json line.
type liveLine struct {
	Type      string            `json:"type"`
	Start     float64           `json:"start"`
	End       float64           `json:"end"`
	Text      string            `json:"text"`
	Words     []transcript.Word `json:"words"`
	LatencyMs float64           `json:"latency_ms"`
}

func (p *livePrinter) event(ev live.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Type {
	case live.EventStatus:
		fmt.Fprintf(p.stderr, "nemo-transcribe live: %s\n", oneLine(ev.Message))
	case live.EventPartial, live.EventFinal:
		if !p.json {
			if ev.Type == live.EventFinal {
				fmt.Fprintf(p.stdout, "[%s --> %s] %s\n", clock(ev.Start), clock(ev.End), ev.Text)
			}
			return
		}
		words := ev.Words
		if words == nil {
			words = []transcript.Word{}
		}
		line := liveLine{Type: string(ev.Type), Start: ev.Start, End: ev.End, Text: ev.Text, Words: words, LatencyMs: ev.LatencyMs}
		if !ev.HeardAt.IsZero() { // to the moment it is printed
			line.LatencyMs = math.Round(float64(time.Since(ev.HeardAt))/float64(time.Microsecond)) / 1000
		}
		data, _ := json.Marshal(line)
		fmt.Fprintf(p.stdout, "%s\n", data)
	}
}

func clock(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Millisecond)
	return fmt.Sprintf("%02d:%02d:%06.3f", int(d.Hours()), int(d.Minutes())%60, math.Mod(d.Seconds(), 60))
}
