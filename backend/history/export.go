// Package history exports past transcripts from the store: the one way
// the app's Library and the CLI's `history export` write them.
package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Source is where past transcripts are read from; *store.DB satisfies it.
type Source interface {
	Transcript(ctx context.Context, id int64) (store.Entry, transcript.Transcript, error)
}

// ErrNoSourceFolder: an entry exported next to its source whose folder is
// not there any more.
var ErrNoSourceFolder = errors.New("the folder it was transcribed from is not there any more: export into a folder instead")

// Options say where and how Export writes.
type Options struct {
	// OutDir is the folder for every entry (created when missing); ""
	// means next to each entry's source file, in the folder it was last
	// transcribed from, which must still be there.
	OutDir    string
	Formats   []string // from export.Formats
	Overwrite bool     // replace existing files with other content
	// TXTTimestamps puts each segment's times in front of its txt line.
	TXTTimestamps bool
}

// Outcome is what became of one entry.
type Outcome struct {
	ID     int64
	Source string // the entry's source file; "" when the entry was not read
	Dir    string // the folder written to
	// Written are the files now holding the entry, in Formats' order.
	Written []string
	// Err is why nothing of the entry was written: store.ErrNotFound
	// (errors.Is) for an entry not in the history, ErrNoSourceFolder,
	// a *transcribe.OutputExistsError (errors.As) for files that are
	// there already with other content, or another failure.
	Err error
}

// Export writes the entries ids of src (with the user's edits and speaker
// names, as the store keeps them) in opts.Formats, one Outcome per id, in order. Each
// entry is named after its source file; two entries of the same name
// written to one folder are told apart as "name (2)", "name (3)", …
// (ignoring case, as Windows and macOS do). It stops early only when ctx
// ends; the entries not reached then fail with ctx's error.
func Export(ctx context.Context, src Source, ids []int64, opts Options) []Outcome {
	outs := make([]Outcome, 0, len(ids))
	taken := map[string]bool{}
	for _, id := range ids {
		o := Outcome{ID: id}
		if o.Err = ctx.Err(); o.Err != nil {
			outs = append(outs, o)
			continue
		}
		e, t, err := src.Transcript(ctx, id)
		if err != nil {
			o.Err = err
			outs = append(outs, o)
			continue
		}
		o.Source = e.Source
		t.Source = e.Source // where the file was last transcribed from
		o.Dir = opts.OutDir
		if o.Dir == "" {
			o.Dir = filepath.Dir(e.Source)
			if info, err := os.Stat(o.Dir); !filepath.IsAbs(e.Source) || err != nil || !info.IsDir() {
				o.Err = ErrNoSourceFolder
				outs = append(outs, o)
				continue
			}
		}
		name := uniqueName(taken, o.Dir, transcribe.Stem(e.Name))
		o.Written, o.Err = transcribe.Export(ctx, t, transcribe.ExportOptions{
			OutDir: o.Dir, Name: name, Formats: opts.Formats, Overwrite: opts.Overwrite, TXTTimestamps: opts.TXTTimestamps,
		})
		outs = append(outs, o)
	}
	return outs
}

// uniqueName is stem, or "stem (n)" with the smallest n from 2 on that no
// earlier entry of this export took in dir, and takes it.
func uniqueName(taken map[string]bool, dir, stem string) string {
	key := func(name string) string { return strings.ToLower(filepath.Join(dir, name)) }
	name := stem
	for n := 2; taken[key(name)]; n++ {
		name = fmt.Sprintf("%s (%d)", stem, n)
	}
	taken[key(name)] = true
	return name
}
