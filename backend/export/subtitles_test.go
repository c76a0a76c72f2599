package export

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parsedCue is a cue read back from an SRT or WebVTT file, times in ms.
type parsedCue struct {
	start, end int64
	lines      []string
	voice      string // WebVTT: the voice tag's annotation, unescaped
}

var (
	srtTiming = regexp.MustCompile(`^(\d{2,}):([0-5]\d):([0-5]\d),(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d),(\d{3})$`)
	vttTiming = regexp.MustCompile(`^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$`)
)

// parseSubtitles reads an SRT (vtt false) or WebVTT file strictly and
// checks the rules this package promises: UTF-8 without byte-order mark, LF
// only, cues separated by exactly one blank line, one newline at the end,
// SRT cues numbered from 1, timing lines in the exact format without cue
// settings, every cue with text, ending after it starts and at least
// MinGapMillis before the next starts, lasting at most MaxCueMillis, with at
// most MaxLines lines of at most MaxLineChars characters (as displayed:
// WebVTT's character references count as one). A WebVTT cue may start
// with one voice tag ("<v Speaker 1>"), which is taken off its first line;
// no other tag may appear.
func parseSubtitles(data []byte, vtt bool) ([]parsedCue, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")):
		return nil, fmt.Errorf("starts with a byte-order mark")
	case bytes.ContainsRune(data, '\r'):
		return nil, fmt.Errorf("contains a carriage return")
	case !vtt && len(data) == 0:
		return nil, nil // an SRT file without cues
	case !bytes.HasSuffix(data, []byte("\n")):
		return nil, fmt.Errorf("does not end with a newline")
	case bytes.HasSuffix(data, []byte("\n\n")):
		return nil, fmt.Errorf("ends with more than one newline")
	}
	blocks := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n\n")
	timing := srtTiming
	if vtt {
		if blocks[0] != "WEBVTT" {
			return nil, fmt.Errorf("header is %q, want WEBVTT alone", blocks[0])
		}
		blocks = blocks[1:]
		timing = vttTiming
	}

	var cues []parsedCue
	for i, block := range blocks {
		lines := strings.Split(block, "\n")
		if lines[0] == "" {
			return nil, fmt.Errorf("cue %d: more than one blank line before it", i+1)
		}
		if !vtt {
			if lines[0] != strconv.Itoa(i+1) {
				return nil, fmt.Errorf("cue %d: numbered %q", i+1, lines[0])
			}
			lines = lines[1:]
		}
		if len(lines) < 2 {
			return nil, fmt.Errorf("cue %d: no timing line or no text", i+1)
		}
		m := timing.FindStringSubmatch(lines[0])
		if m == nil {
			return nil, fmt.Errorf("cue %d: bad timing line %q", i+1, lines[0])
		}
		c := parsedCue{start: parseMillis(m[1:5]), end: parseMillis(m[5:9]), lines: lines[1:]}
		if vtt && strings.HasPrefix(c.lines[0], "<v ") {
			end := strings.IndexByte(c.lines[0], '>')
			if end < 0 {
				return nil, fmt.Errorf("cue %d: voice tag not closed in %q", i+1, c.lines[0])
			}
			c.voice = vttUnescaper.Replace(c.lines[0][3:end])
			if strings.TrimSpace(c.voice) == "" || strings.Contains(c.lines[0][3:end], "<") {
				return nil, fmt.Errorf("cue %d: bad voice tag %q", i+1, c.lines[0][:end+1])
			}
			c.lines = append([]string{c.lines[0][end+1:]}, c.lines[1:]...)
		}
		for _, l := range c.lines {
			if strings.TrimSpace(l) == "" {
				return nil, fmt.Errorf("cue %d: blank text line", i+1)
			}
			if strings.Contains(l, "-->") {
				return nil, fmt.Errorf("cue %d: text %q contains -->", i+1, l)
			}
			if vtt && strings.ContainsAny(l, "<>") {
				return nil, fmt.Errorf("cue %d: text %q holds a tag or an unescaped < or >", i+1, l)
			}
		}
		if c.end <= c.start {
			return nil, fmt.Errorf("cue %d: ends at %d ms, not after its start %d ms", i+1, c.end, c.start)
		}
		if c.end-c.start > MaxCueMillis {
			return nil, fmt.Errorf("cue %d: lasts %d ms, more than %d", i+1, c.end-c.start, MaxCueMillis)
		}
		if i > 0 && c.start < cues[i-1].end+MinGapMillis {
			return nil, fmt.Errorf("cue %d: starts at %d ms, less than %d ms after cue %d ends at %d ms", i+1, c.start, MinGapMillis, i, cues[i-1].end)
		}
		if len(c.lines) > MaxLines {
			return nil, fmt.Errorf("cue %d: %d lines, more than %d", i+1, len(c.lines), MaxLines)
		}
		for _, l := range c.lines {
			if vtt {
				l = vttUnescaper.Replace(l)
			}
			if n := utf8.RuneCountInString(l); n > MaxLineChars {
				return nil, fmt.Errorf("cue %d: line %q has %d characters, more than %d", i+1, l, n, MaxLineChars)
			}
		}
		cues = append(cues, c)
	}
	return cues, nil
}

var vttUnescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

func parseMillis(hms []string) int64 {
	var n [4]int64
	for i, s := range hms {
		n[i], _ = strconv.ParseInt(s, 10, 64)
	}
	return ((n[0]*60+n[1])*60+n[2])*1000 + n[3]
}
