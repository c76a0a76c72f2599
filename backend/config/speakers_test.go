package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSpeakersSetting(t *testing.T) {
	tests := []struct {
		in      string
		want    string // as saved
		count   int
		on      bool
		wantErr bool
	}{
		{in: "", want: "", on: false},
		{in: "auto", want: "auto", on: true},
		{in: " Auto ", want: "auto", on: true},
		{in: "2", want: "2", count: 2, on: true},
		{in: "32", want: "32", count: 32, on: true},
		{in: "1", wantErr: true},
		{in: "33", wantErr: true},
		{in: "0", wantErr: true},
		{in: "-3", wantErr: true},
		{in: "three", wantErr: true},
		{in: "2.5", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := (&File{cur: Defaults()}).SetSpeakers(tt.in)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "speakers must be off, auto or a number from 2 to 32") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || got.Speakers != tt.want {
				t.Fatalf("saved %q, %v; want %q", got.Speakers, err, tt.want)
			}
			if n, on := SpeakerCount(got.Speakers); n != tt.count || on != tt.on {
				t.Errorf("SpeakerCount = %d, %v; want %d, %v", n, on, tt.count, tt.on)
			}
		})
	}
}

// Only SetSpeakers changes the choice: a form saved with an older value
// (or none) keeps it, across a restart too.
func TestSpeakersSurviveOtherSaves(t *testing.T) {
	path := filepath.Join(t.TempDir(), SettingsFileName)
	f, err := OpenSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	form := f.Get()
	if s, err := f.SetSpeakers(" 4 "); err != nil || s.Speakers != "4" {
		t.Fatalf("SetSpeakers: %+v, %v", s, err)
	}
	form.Server = "gpu:9001"
	if s, err := f.Set(form); err != nil || s.Speakers != "4" || s.Server != "gpu:9001" {
		t.Fatalf("a form saved after the choice: %+v, %v", s, err)
	}
	if _, err := f.SetSpeakers("one"); err == nil || f.Get().Speakers != "4" {
		t.Errorf("a bad choice: %v, kept %q", err, f.Get().Speakers)
	}
	again, err := OpenSettings(path)
	if err != nil || again.Get().Speakers != "4" || again.Get().Server != "gpu:9001" {
		t.Errorf("after a restart %+v, %v", again.Get(), err)
	}
}
