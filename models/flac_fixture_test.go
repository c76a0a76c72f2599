package models

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/flacenc"
)

// flacFixture is what the Python tests decode with the real soundfile
// (libsndfile) when it is installed: the first second of speech-en.wav as
// our client's FLAC encoder writes it (AUDIO_FLAC), so that the server's
// decoder is tested on the client's own streams.
const flacFixture = "testdata/speech-en-1s.flac"

// TestFLACFixture keeps testdata/speech-en-1s.flac equal to what
// backend/flacenc writes for the first second of speech-en.wav; -update
// rewrites it.
func TestFLACFixture(t *testing.T) {
	samples := wavPCM16(t, filepath.Join("testdata", "speech-en.wav"))[:SampleRate]
	got := flacenc.Encode(samples, SampleRate)
	if *update {
		if err := os.WriteFile(flacFixture, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(flacFixture)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is not flacenc's stream of speech-en.wav's first second (err %v); run: go test ./models -run TestFLACFixture -update", flacFixture, err)
	}
}

// wavPCM16 reads the samples of a 16-bit mono PCM WAV file.
func wavPCM16(t *testing.T, path string) []int16 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		t.Fatalf("%s: not a WAV file", path)
	}
	for p := 12; p+8 <= len(data); {
		id, size := string(data[p:p+4]), int(binary.LittleEndian.Uint32(data[p+4:]))
		body := data[p+8 : min(p+8+size, len(data))]
		if id == "fmt " && (binary.LittleEndian.Uint16(body[0:]) != 1 || binary.LittleEndian.Uint16(body[2:]) != 1 || binary.LittleEndian.Uint16(body[14:]) != 16) {
			t.Fatalf("%s: not 16-bit mono PCM", path)
		}
		if id == "data" {
			out := make([]int16, len(body)/2)
			for i := range out {
				out[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return out
		}
		p += 8 + size + size&1
	}
	t.Fatalf("%s: no data chunk", path)
	return nil
}
