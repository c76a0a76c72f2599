package transcribe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/export"
	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// OutputExistsError is a job's failure when its outputs would replace
// files that are there already (and differ). The app asks the user and
// retries with Request.Overwrite; the CLI points at --overwrite.
type OutputExistsError struct {
	Paths []string
}

func (e *OutputExistsError) Error() string {
	if len(e.Paths) == 1 {
		return fmt.Sprintf("output file %s already exists", e.Paths[0])
	}
	return fmt.Sprintf("output files %s already exist", strings.Join(e.Paths, ", "))
}

// Stem is the exports' name for an input without the extension:
// "talk.final.wav" gives "talk.final".
func Stem(path string) string {
	base := filepath.Base(path)
	if s := strings.TrimSuffix(base, filepath.Ext(base)); s != "" {
		return s
	}
	return base
}

func writeOutputs(ctx context.Context, t transcript.Transcript, req Request, formats []string) ([]string, error) {
	name := req.OutName
	if name == "" {
		name = Stem(req.Path)
	}
	return Export(ctx, t, ExportOptions{OutDir: req.OutDir, Name: name, Formats: formats, Overwrite: req.Overwrite, TXTTimestamps: req.TXTTimestamps})
}

// ExportOptions say where and how Export writes a transcript.
type ExportOptions struct {
	OutDir    string   // created when missing
	Name      string   // file name without extension
	Formats   []string // from export.Formats
	Overwrite bool     // replace existing files
	// TXTTimestamps puts each segment's times in front of its txt line.
	TXTTimestamps bool
}

// Export renders t in every format and writes OutDir/Name.<format>
// atomically, returning the paths. Every output is checked before any is
// written, so a job never leaves half its outputs: an existing file with
// other content fails with *OutputExistsError unless Overwrite; one with
// exactly the new content is left alone.
func Export(ctx context.Context, t transcript.Transcript, opts ExportOptions) ([]string, error) {
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, apperr.New(apperr.CodeFile, err, "cannot create output folder %s: %v", opts.OutDir, err)
	}
	if opts.Name == "" {
		return nil, apperr.New(apperr.CodeInternal, nil, "no name for the output files")
	}
	type output struct {
		path string
		data []byte
		same bool // the file is there with this content
	}
	var outs []output
	var clash []string
	for _, f := range opts.Formats {
		data, err := export.RenderOptions(t, f, export.Options{TXTTimestamps: opts.TXTTimestamps})
		if err != nil {
			return nil, apperr.New(apperr.CodeInternal, err, "cannot render %s: %v", f, err)
		}
		o := output{path: filepath.Join(opts.OutDir, opts.Name+"."+f), data: data}
		old, err := os.ReadFile(o.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil && !opts.Overwrite:
			return nil, apperr.New(apperr.CodeFile, err, "cannot check output file %s: %v", o.path, err)
		case err == nil && bytes.Equal(old, data):
			o.same = true
		case err == nil && !opts.Overwrite:
			clash = append(clash, o.path)
		}
		outs = append(outs, o)
	}
	if len(clash) > 0 {
		e := &OutputExistsError{Paths: clash}
		return nil, apperr.New(apperr.CodeFile, e, "%v", e)
	}
	var written []string
	for _, o := range outs {
		if !o.same {
			if err := staging.WriteFileAtomic(ctx, o.path, o.data, 0o644, staging.Options{}); err != nil {
				return nil, err
			}
		}
		written = append(written, o.path)
	}
	return written, nil
}
