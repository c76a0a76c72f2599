//go:build linux

package audio

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The polled pipe delivers a child's output whole, in order and to the
// end, whether the child writes faster than we read (more than the pipe
// holds), in bursts with pauses longer than the polls (so the reader
// falls back to waiting on the pipe), or nothing at all.
func TestOutputPipe(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3*outputPipeBytes+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	whole := writeFile(t, filepath.Join(dir, "whole"), data)
	third := len(data) / 3
	var parts []string
	for i, p := range [][]byte{data[:third], data[third : 2*third], data[2*third:]} {
		parts = append(parts, writeFile(t, filepath.Join(dir, fmt.Sprint("part", i)), p))
	}
	for _, tc := range []struct {
		name   string
		script string
		want   []byte
	}{
		{"fast", `cat "$1"`, data},
		{"bursts", `cat "$2"; sleep 0.05; cat "$3"; sleep 0.05; cat "$4"`, data},
		{"empty", `sleep 0.02`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tc.script, "sh", whole, parts[0], parts[1], parts[2])
			r, w, err := outputPipe(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := r.(*pollingReader); !ok {
				t.Logf("the pipe could not be enlarged: read the ordinary way (%T)", r)
			}
			err = cmd.Start()
			w.Close()
			if err != nil {
				r.Close()
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if werr := cmd.Wait(); werr != nil {
				t.Fatalf("child: %v", werr)
			}
			if err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("read %d bytes, not the %d written", len(got), len(tc.want))
			}
		})
	}
}

// Closing a decoder in the middle of ffmpeg's output stops ffmpeg at once
// and leaves nothing open.
func TestFFmpegCloseEarly(t *testing.T) {
	needFFmpeg(t)
	p := filepath.Join(t.TempDir(), "long.wav")
	ffmpegRun(t, "-f", "lavfi", "-i", "sine=f=440:r=44100:d=120", "-ac", "2", "-c:a", "pcm_s16le", p)
	// The second round counts descriptors: the first may open the
	// runtime's own (its poller) for good.
	var fds int
	for round := range 2 {
		if round == 1 {
			fds = openFDs(t)
		}
		d, err := Open(p, Options{Decoder: DecoderFFmpeg})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := d.Read(make([]float32, 4096)); n == 0 || err != nil {
			t.Fatalf("Read: %d, %v", n, err)
		}
		start := time.Now()
		if err := d.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("Close took %v", el)
		}
		if _, err := d.Read(make([]float32, 16)); err == nil {
			t.Error("Read after Close succeeded")
		}
	}
	if after := openFDs(t); after > fds {
		t.Errorf("%d descriptors open after Close, %d before", after, fds)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}
