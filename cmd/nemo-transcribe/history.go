package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/export"
	"github.com/nemo-transcribe/nemo-transcribe/backend/history"
	"github.com/nemo-transcribe/nemo-transcribe/backend/speakers"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

const historyUsage = `usage:
  nemo-transcribe history list [--limit N] [--json] [--data-dir DIR]
  nemo-transcribe history search [--limit N] [--json] [--data-dir DIR] WORDS...
  nemo-transcribe history export [--out DIR|-] [--format LIST] [--overwrite] [--txt-timestamps] [--data-dir DIR] ID...
  nemo-transcribe history rename-speaker [--data-dir DIR] ID OLD NEW
  nemo-transcribe history diarize --server HOST:PORT [--speakers auto|N] [--min-speakers N] [--max-speakers N] [--data-dir DIR] ID...
`

// runHistory lists, searches and exports finished transcripts from the
// database, and renames their speakers.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, "nemo-transcribe history", historyUsage, map[string]command{
		"list":           historyList,
		"search":         historySearch,
		"export":         historyExport,
		"rename-speaker": historyRenameSpeaker,
		"diarize":        historyDiarize,
	}, args, stdout, stderr)
}

// openHistory resolves --data-dir (the user data folder when empty) and
// opens the database there without creating one where none is: a wrong
// --data-dir should not leave an empty database behind. false means a
// message was printed.
func openHistory(dataDir *string, stderr io.Writer) (*store.DB, bool) {
	if !resolveDataDir(dataDir, stderr) {
		return nil, false
	}
	dir := *dataDir
	if _, err := os.Stat(dir + string(os.PathSeparator) + store.FileName); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "nemo-transcribe: no history in %s yet: transcribe something first, or set --data-dir\n", dir)
		return nil, false
	}
	db, err := store.Open(dir)
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: cannot open the history in %s: %v\n", dir, err)
		return nil, false
	}
	return db, true
}

func historyList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("history list", stderr)
	dataDir := dataDirFlag(fs)
	limit := fs.Int("limit", 50, "show at most this many entries (0: all)")
	asJSON := fs.Bool("json", false, "print JSON only")
	if rest, err := parseInterleaved(fs, args); err != nil {
		return exitUsage
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "nemo-transcribe history list: unexpected arguments %q\n", rest)
		return exitUsage
	}
	db, ok := openHistory(dataDir, stderr)
	if !ok {
		return exitFailed
	}
	defer db.Close()
	entries, err := db.History(ctx, *limit, 0)
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		return printJSON(stdout, entries)
	}
	// A SPEAKERS column only when some entry was diarized, so a history
	// without speakers looks as it always did.
	withSpeakers := slices.ContainsFunc(entries, func(e store.Entry) bool { return len(e.Speakers) > 0 })
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if withSpeakers {
		fmt.Fprintln(tw, "ID\tWHEN\tLENGTH\tMODEL\tFILE\tSPEAKERS\tTEXT")
	} else {
		fmt.Fprintln(tw, "ID\tWHEN\tLENGTH\tMODEL\tFILE\tTEXT")
	}
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t", e.ID, e.UpdatedAt.Local().Format("2006-01-02 15:04"),
			length(e.Duration), e.Model, e.Name)
		if withSpeakers {
			fmt.Fprintf(tw, "%s\t", preview(speakerNames(e.Speakers), 40))
		}
		fmt.Fprintf(tw, "%s\n", preview(e.Preview, 50))
	}
	tw.Flush()
	return exitOK
}

// speakerNames lists speakers' labels, "-" for none.
func speakerNames(sp []transcript.Speaker) string {
	if len(sp) == 0 {
		return "-"
	}
	names := make([]string, 0, len(sp))
	for _, s := range sp {
		names = append(names, s.Label)
	}
	return strings.Join(names, ", ")
}

func historySearch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("history search", stderr)
	dataDir := dataDirFlag(fs)
	limit := fs.Int("limit", 20, "show at most this many results")
	asJSON := fs.Bool("json", false, "print JSON only")
	words, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	if strings.TrimSpace(strings.Join(words, " ")) == "" {
		fmt.Fprintln(stderr, "nemo-transcribe history search: give the words to look for")
		return exitUsage
	}
	db, ok := openHistory(dataDir, stderr)
	if !ok {
		return exitFailed
	}
	defer db.Close()
	hits, err := db.Search(ctx, strings.Join(words, " "), store.SearchOptions{Limit: *limit})
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		return printJSON(stdout, hits)
	}
	if len(hits) == 0 {
		fmt.Fprintf(stderr, "nothing found for %q\n", strings.Join(words, " "))
		return exitOK
	}
	for _, h := range hits {
		who := ""
		if len(h.Speakers) > 0 {
			who = "  " + oneLine(speakerNames(h.Speakers))
		}
		fmt.Fprintf(stdout, "%d  %s  %s  %s%s\n    %s\n", h.ID, h.UpdatedAt.Local().Format("2006-01-02 15:04"), h.Name, length(h.Duration), who, oneLine(h.Snippet))
	}
	return exitOK
}

// historyRenameSpeaker renames one speaker of a diarized transcript in
// the history, once for the whole transcript.
func historyRenameSpeaker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("history rename-speaker", stderr)
	dataDir := dataDirFlag(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: nemo-transcribe history rename-speaker [--data-dir DIR] ID OLD NEW\n"+
			"OLD is the speaker's current name (\"Speaker 2\") or its id (\"S2\", as history list --json shows); quote names with spaces.\n")
		fs.PrintDefaults()
	}
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(rest) != 3 {
		fmt.Fprintf(stderr, "nemo-transcribe history rename-speaker: give ID OLD NEW (got %d arguments; quote names with spaces)\n", len(rest))
		return exitUsage
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(stderr, "nemo-transcribe history rename-speaker: %q is not an entry ID (see history list)\n", rest[0])
		return exitUsage
	}
	old := rest[1]
	label, err := speakers.CleanLabel(rest[2])
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe history rename-speaker: %v\n", err)
		return exitUsage
	}
	db, ok := openHistory(dataDir, stderr)
	if !ok {
		return exitFailed
	}
	defer db.Close()
	_, t, err := db.Transcript(ctx, id)
	var before transcript.Speaker
	if err == nil {
		var i int
		if i, err = speakers.Find(t, old); err == nil {
			before = t.Speakers[i]
		}
	}
	var after transcript.Speaker
	if err == nil {
		after, err = db.RenameSpeaker(ctx, id, old, label)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe: %d: %s\n", id, renameReason(id, err))
		return exitFailed
	}
	fmt.Fprintf(stdout, "%d: %s %q -> %q\n", id, after.ID, before.Label, after.Label)
	return exitOK
}

// renameReason is why a speaker of entry id was not renamed.
func renameReason(id int64, err error) string {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Sprintf("no history entry %d (see history list)", id)
	case errors.Is(err, speakers.ErrNotDiarized):
		return fmt.Sprintf("entry %d has no speakers: it was transcribed without diarization", id)
	}
	return err.Error()
}

func historyExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("history export", stderr)
	dataDir := dataDirFlag(fs)
	out := fs.String("out", ".", `folder for the outputs (created if missing; entries of the same name become "name (2)"); "" writes next to each source file; "-" prints one format to stdout`)
	formats := fs.String("format", "json,srt,vtt,txt", "output formats, comma-separated: "+strings.Join(export.Formats, ","))
	overwrite := fs.Bool("overwrite", false, "replace existing output files")
	txtTimestamps := fs.Bool("txt-timestamps", false, "start each line of the txt output with its times")
	ids, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(ids) == 0 {
		fmt.Fprintln(stderr, "nemo-transcribe history export: give the ID of an entry (see history list)")
		return exitUsage
	}
	fmts, err := export.ParseFormats(*formats)
	if err != nil {
		fmt.Fprintf(stderr, "nemo-transcribe history export: --format: %v\n", err)
		return exitUsage
	}
	if *out == "-" && (len(fmts) != 1 || len(ids) != 1) {
		fmt.Fprintln(stderr, "nemo-transcribe history export: --out - prints one format of one entry")
		return exitUsage
	}
	var nums []int64
	for _, s := range ids {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			fmt.Fprintf(stderr, "nemo-transcribe history export: %q is not an entry ID (see history list)\n", s)
			return exitUsage
		}
		nums = append(nums, n)
	}
	db, ok := openHistory(dataDir, stderr)
	if !ok {
		return exitFailed
	}
	defer db.Close()

	if *out == "-" {
		_, t, err := db.Transcript(ctx, nums[0])
		if err != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: %s: %s\n", ids[0], historyExportReason(nums[0], err))
			return exitFailed
		}
		data, err := export.RenderOptions(t, fmts[0], export.Options{TXTTimestamps: *txtTimestamps})
		if err != nil {
			fmt.Fprintf(stderr, "nemo-transcribe: %s: %v\n", ids[0], err)
			return exitFailed
		}
		stdout.Write(data)
		return exitOK
	}

	failed := 0
	outs := history.Export(ctx, db, nums, history.Options{OutDir: *out, Formats: fmts, Overwrite: *overwrite, TXTTimestamps: *txtTimestamps})
	for i, o := range outs {
		if o.Err != nil {
			failed++
			fmt.Fprintf(stderr, "nemo-transcribe: %s: %s\n", ids[i], historyExportReason(o.ID, o.Err))
			continue
		}
		fmt.Fprintf(stdout, "%d -> %s\n", o.ID, strings.Join(o.Written, ", "))
	}
	if failed > 0 {
		return exitFailed
	}
	return exitOK
}

// historyExportReason is why the entry id was not exported, with what to
// do about it.
func historyExportReason(id int64, err error) string {
	var exists *transcribe.OutputExistsError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Sprintf("no history entry %d (see history list)", id)
	case errors.As(err, &exists):
		return transcribe.Reason(err) + " (use --overwrite to replace it)"
	}
	return transcribe.Reason(err)
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return exitFailed
	}
	return exitOK
}

// length is a duration as M:SS or H:MM:SS.
func length(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	return shortDuration(d.Seconds())
}

func preview(s string, n int) string {
	s = oneLine(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
