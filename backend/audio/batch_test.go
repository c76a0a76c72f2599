package audio

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestFFmpegBatchedShortFiles opens every short fixture at once (as a queue's
// jobs do), so they share ffmpeg processes, and checks each file against
// its decode by a process of its own: the same samples, Info and warning.
// A damaged file in the batch makes its batch decode again one by one,
// and gets its own warning.
func TestFFmpegBatchedShortFiles(t *testing.T) {
	sets := fixtures(t)
	var paths []string
	for _, fs := range sets {
		for _, c := range codecs {
			paths = append(paths, fs.files[c.name])
		}
	}
	// Damage in the middle of an MP3 file: ffmpeg decodes around it and
	// says so.
	data, err := os.ReadFile(sets[0].files["mp3"])
	if err != nil {
		t.Fatal(err)
	}
	rng := uint32(1)
	for i := len(data) / 2; i < len(data)/2+300; i++ {
		rng = rng*1664525 + 1013904223
		data[i] = byte(rng >> 24)
	}
	paths = append(paths, writeFile(t, filepath.Join(t.TempDir(), "damaged.mp3"), data))

	type result struct {
		y       []float32
		info    Info
		warning string
	}
	decode := func(p string) result {
		d, err := Open(p, Options{Decoder: DecoderFFmpeg})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
			return result{}
		}
		defer d.Close()
		y := readAll(t, d)
		return result{y, d.Info(), fmt.Sprint(d.Warning())}
	}
	old := batchMaxFiles
	batchMaxFiles = 1
	alone := map[string]result{}
	for _, p := range paths {
		alone[p] = decode(p)
	}
	batchMaxFiles = old
	if w := alone[paths[len(paths)-1]].warning; w == "<nil>" {
		t.Fatal("the damaged file decodes without a warning: not a test of the fallback")
	}
	for round, window := range []time.Duration{batchWindow, 50 * time.Millisecond} {
		before := sharedRuns.Load()
		oldWindow := batchWindow
		batchWindow = window
		var wg sync.WaitGroup
		got := make([]result, len(paths))
		for i, p := range paths {
			wg.Add(1)
			go func() { defer wg.Done(); got[i] = decode(p) }()
		}
		wg.Wait()
		batchWindow = oldWindow
		for i, p := range paths {
			a, b := alone[p], got[i]
			if len(a.y) != len(b.y) || !sameBits(a.y, b.y) || a.info != b.info || a.warning != b.warning {
				t.Errorf("round %d, %s: batched %d samples %+v %q; alone %d %+v %q", round, filepath.Base(p),
					len(b.y), b.info, b.warning, len(a.y), a.info, a.warning)
			}
		}
		if sharedRuns.Load() == before {
			t.Errorf("round %d: no shared process ran well", round)
		}
		t.Logf("round %d: %d files, %d shared processes ended well", round, len(paths), sharedRuns.Load()-before)
	}
}
