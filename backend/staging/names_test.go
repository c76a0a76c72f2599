package staging

import (
	"strings"
	"testing"
)

func TestExtendedPath(t *testing.T) {
	long := strings.Repeat(`ünïcode folder\`, 20) + "talk.wav" // over 248 bytes
	tests := []struct {
		name, in, want string
	}{
		{"short stays as is", `C:\Users\ana\talk.wav`, `C:\Users\ana\talk.wav`},
		{"short share stays as is", `\\nas\media\talk.wav`, `\\nas\media\talk.wav`},
		{"long drive path", `C:\` + long, `\\?\C:\` + long},
		{"long share path", `\\nas\media\` + long, `\\?\UNC\nas\media\` + long},
		{"forward slashes become backslashes", `C:/` + strings.ReplaceAll(long, `\`, "/"), `\\?\C:\` + long},
		{"already extended", `\\?\C:\` + long, `\\?\C:\` + long},
		{"device path", `\\.\` + long, `\\.\` + long},
		{"relative is left alone", long, long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := extendedPath(tt.in); got != tt.want {
				t.Errorf("extendedPath(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEntryExt(t *testing.T) {
	tests := []struct{ src, want string }{
		{"talk.wav", ".wav"},
		{"Interview.M4A", ".m4a"},
		{"My Podcast – Folge 3.opus", ".opus"},
		{"recording", ""},
		{"trailing.", ""},
		{"weird.ext with space", ""},
		{"unicode.wäv", ""},
		{"too.longextension1", ""},
		{".hidden", ".hidden"},
	}
	for _, tt := range tests {
		if got := entryExt(tt.src); got != tt.want {
			t.Errorf("entryExt(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestParseEntry(t *testing.T) {
	sum := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name   string
		wantOK bool
	}{
		{sum, true},
		{sum + ".wav", true},
		{sum + "x", false},
		{strings.ToUpper(sum), false},
		{sum[:63], false},
		{".staging-123.tmp", false},
		{"talk.wav", false},
	}
	for _, tt := range tests {
		got, ok := ParseEntry(tt.name)
		if ok != tt.wantOK || (ok && got != sum) {
			t.Errorf("ParseEntry(%q) = %q, %v; want ok %v", tt.name, got, ok, tt.wantOK)
		}
	}
}
