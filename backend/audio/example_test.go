package audio_test

import (
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
)

// Decode a file to 16 kHz mono and cut it into chunks for the model.
func Example() {
	// A 75-second 44.1 kHz stereo file: a tone with a pause at 28 s.
	const rate = 44100
	x := make([]float32, 2*75*rate)
	for i := range 75 * rate {
		if i >= 28*rate && i < 28*rate+rate/4 {
			continue
		}
		v := float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/rate))
		x[2*i], x[2*i+1] = v, v
	}
	path := filepath.Join(os.TempDir(), "audio-example.wav")
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := audio.WriteWAV(f, x, rate, 2, audio.PCM16); err != nil {
		log.Fatal(err)
	}
	f.Close()
	defer os.Remove(path)

	d, err := audio.Open(path, audio.Options{}) // average the channels
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	info := d.Info()
	fmt.Printf("%s, %d Hz, %d channels, %.1f s -> %d samples at 16 kHz\n",
		info.Format, info.SourceRate, info.Channels, info.Duration, info.Samples)

	c := audio.NewChunker(d, audio.ChunkOptions{}) // 30 s chunks, cut in the last 10 s
	for {
		ch, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		start := float64(ch.Offset) / audio.SampleRate
		end := start + float64(len(ch.Samples))/audio.SampleRate
		fmt.Printf("chunk %d: %.2f..%.2f s silent=%v\n", ch.Index, start, end, ch.Silent)
	}
	if w := d.Warning(); w != nil {
		fmt.Println("warning:", w)
	}
	// Output:
	// wav/pcm16, 44100 Hz, 2 channels, 75.0 s -> 1200000 samples at 16 kHz
	// chunk 0: 0.00..28.14 s silent=false
	// chunk 1: 28.14..58.14 s silent=false
	// chunk 2: 58.14..75.00 s silent=false
}
