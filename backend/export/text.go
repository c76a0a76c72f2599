package export

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// renderTXT writes the text, one segment per line, ending with a newline;
// with times, each line starts with the segment's span. In a diarized
// transcript a line whose speaker is not the previous line's starts with
// "Speaker 1: ". A transcript without segments falls back to its Text; no
// text at all means an empty file.
func renderTXT(t transcript.Transcript, times bool) []byte {
	var lines []string
	prev := ""
	for _, s := range t.Segments {
		line := cleanText(s.Text, " ")
		if line == "" {
			continue
		}
		if who := segmentSpeaker(s); who != prev {
			if who != "" {
				line = who + ": " + line
			}
			prev = who
		}
		if times {
			start := millis(s.Start)
			line = fmt.Sprintf("[%s --> %s] %s", timestamp(start, '.'), timestamp(max(millis(s.End), start), '.'), line)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		if text := cleanText(t.Text, "\n"); text != "" {
			lines = append(lines, text)
		}
	}
	if len(lines) == 0 {
		return []byte{}
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// renderCSV writes a header and one row per segment with text: start and
// end in seconds with millisecond precision, and the text on one line; a
// diarized transcript has a fourth column, the segment's speaker (last, so
// the columns a reader of the plain file knows stay where they are).
// Quoting follows RFC 4180; lines end with LF.
func renderCSV(t transcript.Transcript) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	withSpeaker := diarized(t)
	header := []string{"start", "end", "text"}
	if withSpeaker {
		header = append(header, "speaker")
	}
	rows := [][]string{header}
	for _, s := range t.Segments {
		text := cleanText(s.Text, " ")
		if text == "" {
			continue
		}
		start := millis(s.Start)
		row := []string{csvSeconds(start), csvSeconds(max(millis(s.End), start)), text}
		if withSpeaker {
			row = append(row, segmentSpeaker(s))
		}
		rows = append(rows, row)
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("rendering CSV: %w", err)
	}
	return b.Bytes(), nil
}

// diarized reports whether t has speakers: a speakers list, or a label on
// any segment or word.
func diarized(t transcript.Transcript) bool {
	if len(t.Speakers) > 0 {
		return true
	}
	for _, s := range t.Segments {
		if segmentSpeaker(s) != "" {
			return true
		}
	}
	return false
}

func csvSeconds(ms int64) string {
	return strconv.FormatInt(ms/1000, 10) + "." + fmt.Sprintf("%03d", ms%1000)
}

// renderMarkdown writes a readable document: the file's name as title, a
// short list of facts, then one paragraph per segment led by its start
// time and, in a diarized transcript, by the speaker in bold where the
// speaker changes ("**Speaker 1:**"); the facts then list the speakers.
// Text is escaped so that nothing a speaker said becomes markup.
func renderMarkdown(t transcript.Transcript) []byte {
	var b bytes.Buffer
	title := baseName(t.Source)
	if title == "" {
		title = "Transcript"
	}
	fmt.Fprintf(&b, "# %s\n\n", mdEscape(title))
	if t.Model != "" {
		fmt.Fprintf(&b, "- Model: %s\n", mdEscape(t.Model))
	}
	fmt.Fprintf(&b, "- Duration: %s\n", clock(millis(t.Duration), t.Duration >= 3600))
	if t.SHA256 != "" {
		fmt.Fprintf(&b, "- SHA-256: `%s`\n", t.SHA256)
	}
	if len(t.Speakers) > 0 {
		names := make([]string, 0, len(t.Speakers))
		for _, sp := range t.Speakers {
			names = append(names, mdEscape(fold(sp.Label)))
		}
		fmt.Fprintf(&b, "- Speakers: %s\n", strings.Join(names, ", "))
	}
	long := t.Duration >= 3600
	n := 0
	prev := ""
	for _, s := range t.Segments {
		text := cleanText(s.Text, " ")
		if text == "" {
			continue
		}
		label := ""
		if who := segmentSpeaker(s); who != prev {
			if who != "" {
				label = "**" + mdEscape(who) + ":** "
			}
			prev = who
		}
		fmt.Fprintf(&b, "\n**[%s]** %s%s\n", clock(millis(s.Start), long), label, mdEscape(text))
		n++
	}
	if n == 0 {
		if text := cleanText(t.Text, " "); text != "" {
			fmt.Fprintf(&b, "\n%s\n", mdEscape(text))
		} else {
			b.WriteString("\n_No speech was recognised._\n")
		}
	}
	return b.Bytes()
}

// clock is M:SS, or H:MM:SS when the media lasts an hour or more, so all
// times in one document have the same shape.
func clock(ms int64, hours bool) string {
	s := ms / 1000
	if hours || s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// mdSpecial are the characters CommonMark may read as markup anywhere in
// a line; a backslash makes each literal.
var mdSpecial = regexp.MustCompile("[\\\\`*_\\[\\]<>#|~]|&(#?[A-Za-z0-9]+;)|^([0-9]+)([.)])|^([-+=])")

func mdEscape(s string) string {
	return mdSpecial.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case strings.HasPrefix(m, "&"):
			return `\` + m // "&amp;" stays text, not an entity
		case len(m) > 1: // "1." at the start: not a list item
			return m[:len(m)-1] + `\` + m[len(m)-1:]
		}
		return `\` + m
	})
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return p
}
