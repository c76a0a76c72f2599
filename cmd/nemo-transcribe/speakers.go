package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/models"
)

// speakerFlags are the flags that ask for diarization.
type speakerFlags struct {
	speakers *string
	min, max *int
	model    *string
}

func addSpeakerFlags(fs *flag.FlagSet) *speakerFlags {
	return &speakerFlags{
		speakers: fs.String("speakers", "", "tell speakers apart: auto (find how many), or `N` exactly; off when not given"),
		min:      fs.Int("min-speakers", 0, "with --speakers auto: at least `N` speakers"),
		max:      fs.Int("max-speakers", 0, "with --speakers auto: at most `N` speakers"),
		model:    fs.String("speaker-model", "", "speaker-embedding model `NAME` on the server (default: the one it lists)"),
	}
}

// options reads the flags: nil when diarization is off. always turns it on
// (auto) when --speakers is not given, for a command that only diarizes.
func (f *speakerFlags) options(always bool) (*transcribe.SpeakerOptions, error) {
	v := strings.ToLower(strings.TrimSpace(*f.speakers))
	if v == "" && always {
		v = "auto"
	}
	if v == "" {
		for name, set := range map[string]bool{"--min-speakers": *f.min != 0, "--max-speakers": *f.max != 0, "--speaker-model": *f.model != ""} {
			if set {
				return nil, fmt.Errorf("%s needs --speakers auto or --speakers N", name)
			}
		}
		return nil, nil
	}
	o := &transcribe.SpeakerOptions{Model: strings.TrimSpace(*f.model)}
	if v != "auto" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--speakers %q: use auto, or a number of speakers from 1", *f.speakers)
		}
		if *f.min != 0 || *f.max != 0 {
			return nil, errors.New("--min-speakers and --max-speakers go with --speakers auto, not with an exact number")
		}
		o.Count = n
		return o, nil
	}
	switch {
	case *f.min < 0:
		return nil, fmt.Errorf("--min-speakers %d: use a number from 1", *f.min)
	case *f.max < 0:
		return nil, fmt.Errorf("--max-speakers %d: use a number from 1", *f.max)
	case *f.max > 0 && *f.min > *f.max:
		return nil, fmt.Errorf("--min-speakers %d is above --max-speakers %d", *f.min, *f.max)
	}
	o.Min, o.Max = *f.min, *f.max
	return o, nil
}

// statusJSON is status --json: the server's status with, added, the
// names of the speaker-embedding models among its ready models.
type statusJSON struct {
	inference.ServerStatus
	SpeakerModels []string `json:"speakerModels"`
}

func withSpeakerModels(st inference.ServerStatus) statusJSON {
	out := statusJSON{ServerStatus: st, SpeakerModels: []string{}}
	for _, m := range st.Models {
		if m.Ready && m.Kind == models.KindSpeakerEmbedding {
			out.SpeakerModels = append(out.SpeakerModels, m.Name)
		}
	}
	return out
}

// historyDiarize finds the speakers of stored transcripts without
// transcribing them again.
func historyDiarize(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("history diarize", stderr)
	conn := addConnFlags(fs, defaultServer)
	dataDir := dataDirFlag(fs)
	cacheDir := fs.String("cache-dir", "", "folder of the staged copies of inputs (default: the user cache folder)")
	force := fs.Bool("force", false, "ask the speaker model again for every span, ignoring stored embeddings")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for a model that is still loading")
	spk := addSpeakerFlags(fs)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "nemo-transcribe history diarize: "+format+"\n", args...)
		return exitUsage
	}
	if len(rest) == 0 {
		return usageErr("give the ID of a history entry (see history list)")
	}
	var ids []int64
	for _, a := range rest {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id < 1 {
			return usageErr("%q is not a history entry ID (see history list)", a)
		}
		ids = append(ids, id)
	}
	opts, err := spk.options(true)
	if err != nil {
		return usageErr("%v", err)
	}
	cfg, err := conn()
	if err != nil {
		return usageErr("%v", err)
	}
	db, ok := openHistory(dataDir, stderr)
	if !ok {
		return exitFailed
	}
	defer db.Close()
	eng, err := transcribe.Open(transcribe.Config{Store: db, CacheDir: *cacheDir, ModelWait: *wait, Connect: connectWith(cfg)})
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
		return exitFailed
	}
	defer eng.Close()
	server := connLabel(cfg)
	if _, err := eng.SpeakerModel(ctx, server, opts.Model); err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %s\n", apperr.Message(err))
		return exitFailed
	}
	code := exitOK
	for _, id := range ids {
		res, err := eng.Diarize(ctx, transcribe.DiarizeRequest{HistoryID: id, Server: server, Speakers: *opts, CacheDir: *cacheDir, Force: *force}, nil)
		if err != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: history entry %d: %s\n", id, oneLine(apperr.Message(err)))
			code = exitFailed
			continue
		}
		fmt.Fprintf(stdout, "%d: %s\n", id, speakerNames(res.Transcript.Speakers))
	}
	return code
}
