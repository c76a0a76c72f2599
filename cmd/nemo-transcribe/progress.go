package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// isTerminal reports whether w is a character device, where a progress line
// redrawn in place makes sense; pipes and files get no progress noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressLine redraws one status line per file, at most 10 times a second.
type progressLine struct {
	last  time.Time
	width int
}

func (p *progressLine) show(w io.Writer, pr transcribe.Progress) {
	final := pr.Stage == transcribe.StageDone || pr.Stage == transcribe.StageFailed
	if !final && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const barWidth = 24
	filled := int(pr.Fraction * barWidth)
	filled = min(max(filled, 0), barWidth)
	line := fmt.Sprintf("%s [%s%s] %3.0f%% %s", filepath.Base(pr.Path),
		strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), 100*pr.Fraction, pr.Stage)
	if pr.ChunksTotal > 0 {
		line += fmt.Sprintf(" %d/%d chunks", pr.ChunksDone, pr.ChunksTotal)
	}
	pad := max(p.width-len(line), 0)
	fmt.Fprintf(w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
}

func (p *progressLine) clear(w io.Writer) {
	if p.width > 0 {
		fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}
