package audio

import (
	"slices"
	"testing"
)

func TestDecodeThreads(t *testing.T) {
	for _, tc := range []struct{ cpus, want int }{
		{0, 1}, {1, 1}, {2, 1}, {3, 2}, {16, 15},
	} {
		if got := decodeThreads(tc.cpus); got != tc.want {
			t.Errorf("decodeThreads(%d) = %d, want %d", tc.cpus, got, tc.want)
		}
	}
}

// The thread count must be an input option (before -i) to reach the
// decoder; after -i it would apply to the encoder.
func TestFFmpegArgsThreadsBeforeInput(t *testing.T) {
	args := ffmpegArgs("x.flac", probeInfo{index: 0, channels: 2, rate: 44100}, -1)
	th, in := slices.Index(args, "-threads"), slices.Index(args, "-i")
	if th < 0 || in < 0 || th > in {
		t.Fatalf("-threads at %d, -i at %d in %q", th, in, args)
	}
}
