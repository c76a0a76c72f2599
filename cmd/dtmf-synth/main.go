// Command dtmf-synth writes a WAV file of telephone key presses (DTMF) at
// known times, with the truth beside it as JSON. The devserver's dtmf model
// hears them back, so the file is an exact end-to-end check of the audio
// path and the timestamp arithmetic; the README's demo uses it as its sample.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// demoScript spans two 30 s chunks, with presses close to where the first
// cut will fall, so the demo exercises chunking and stitching.
const demoScript = "1@1.0:0.2,2@1.5:0.2,3@2.0:0.2,A@4.0:0.15,4@8.2:0.3,5@12.0:0.08,6@12.3:0.08," +
	"*@20.0:0.25,0@26.5:0.2,#@28.4:0.2,7@29.1:0.12,8@30.5:0.2,9@33.0:0.2,B@38.0:0.4,C@41.6:0.1,D@43.0:0.2"

func main() {
	out := flag.String("out", "sample.wav", "WAV file to write")
	truth := flag.String("truth", "", "also write the presses as JSON here")
	script := flag.String("presses", demoScript, "presses as KEY@START:LENGTH (seconds), comma-separated")
	rate := flag.Int("rate", 44100, "sample rate, Hz")
	channels := flag.Int("channels", 2, "channels (the same signal in each)")
	duration := flag.Float64("duration", 45, "length of the file, seconds")
	noise := flag.Float64("noise-db", -40, "white noise relative to the tones, dB (0: none)")
	flag.Parse()

	presses, err := parseScript(*script)
	if err == nil {
		err = write(*out, presses, *rate, *channels, *duration, *noise)
	}
	if err == nil && *truth != "" {
		err = writeTruth(*truth, presses)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dtmf-synth: %v\n", err)
		os.Exit(1)
	}
}

func parseScript(s string) ([]dtmf.Press, error) {
	var presses []dtmf.Press
	for _, item := range strings.Split(s, ",") {
		key, rest, ok1 := strings.Cut(strings.TrimSpace(item), "@")
		start, length, ok2 := strings.Cut(rest, ":")
		st, err1 := strconv.ParseFloat(start, 64)
		ln, err2 := strconv.ParseFloat(length, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil || len([]rune(key)) != 1 {
			return nil, fmt.Errorf("press %q is not KEY@START:LENGTH", item)
		}
		k := []rune(key)[0]
		if _, _, ok := dtmf.Freqs(k); !ok {
			return nil, fmt.Errorf("press %q: %q is not a DTMF key", item, key)
		}
		presses = append(presses, dtmf.Press{Key: k, Start: st, End: st + ln})
	}
	return presses, nil
}

func write(path string, presses []dtmf.Press, rate, channels int, duration, noise float64) error {
	mono := dtmf.Synthesize(presses, rate, duration, dtmf.SynthOptions{NoiseDB: noise, Seed: 1})
	inter := make([]float32, 0, len(mono)*channels)
	for _, s := range mono {
		for range channels {
			inter = append(inter, s)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := audio.WriteWAV(f, inter, rate, channels, audio.PCM16); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type truthPress struct {
	Key   string  `json:"key"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

func writeTruth(path string, presses []dtmf.Press) error {
	out := make([]truthPress, len(presses))
	for i, p := range presses {
		out[i] = truthPress{string(p.Key), p.Start, p.End}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
