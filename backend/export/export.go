// Package export turns a transcript into the files users keep: JSON (the
// public schema), SRT and WebVTT subtitles, plain text (optionally with
// times), CSV and Markdown. Rendering is pure; writing the bytes to disk
// is the caller's job (staging.WriteFileAtomic).
package export

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Formats lists the supported formats. A format's name is also its file
// extension.
var Formats = []string{"json", "srt", "vtt", "txt", "csv", "md"}

// ErrUnknownFormat is wrapped by the errors Render and ParseFormats return
// for a format not in Formats.
var ErrUnknownFormat = errors.New("unknown export format")

// Options tune rendering. The zero value is the default.
type Options struct {
	// TXTTimestamps starts every line of the txt format with the
	// segment's times: "[00:01:02.500 --> 00:01:04.000] text".
	TXTTimestamps bool
}

// Render returns t in format, one of Formats, with default options.
func Render(t transcript.Transcript, format string) ([]byte, error) {
	return RenderOptions(t, format, Options{})
}

// RenderOptions returns t in format, one of Formats.
func RenderOptions(t transcript.Transcript, format string, opts Options) ([]byte, error) {
	switch format {
	case "json":
		return renderJSON(t)
	case "srt":
		return renderSRT(t), nil
	case "vtt":
		return renderVTT(t), nil
	case "txt":
		return renderTXT(t, opts.TXTTimestamps), nil
	case "csv":
		return renderCSV(t)
	case "md":
		return renderMarkdown(t), nil
	}
	return nil, unknown(format)
}

// ParseFormats reads a comma-separated list such as "json, SRT". It trims
// spaces, lowercases, drops duplicates and empty entries, and keeps the
// order given. An unknown name or an empty list is an error.
func ParseFormats(list string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(list, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" || slices.Contains(out, f) {
			continue
		}
		if !slices.Contains(Formats, f) {
			return nil, unknown(f)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no export format given (supported: %s)", strings.Join(Formats, ", "))
	}
	return out, nil
}

func unknown(format string) error {
	return fmt.Errorf("%w %q (supported: %s)", ErrUnknownFormat, format, strings.Join(Formats, ", "))
}
