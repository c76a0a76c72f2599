package config

import (
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
			s := Defaults()
			s.Speakers = tt.in
			got, err := s.Normalise()
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
