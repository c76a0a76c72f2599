// Command dtmf-synth writes a WAV file of telephone key presses (DTMF) at
// known times, with the truth beside it as JSON. The devserver's dtmf model
// hears them back, so the file is an exact end-to-end check of the audio
// path and the timestamp arithmetic; the README's demo uses it as its sample.
//
// With --voices the presses are spoken by test voices (package
// triton/tritontest/voices), which the devserver's voices model tells
// apart: a multi-speaker recording whose truth names each key's speaker.
//
//	dtmf-synth [--out F.wav] [--truth F.json] [--presses SCRIPT | --random-presses] [--duration S]
//	    [--voices 110,150,205 | --voices N] [--turn-keys N | --random-turns MIN-MAX] [--seed N]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

// demoScript spans two 30 s chunks, with presses close to where the first
// cut will fall, so the demo exercises chunking and stitching.
const demoScript = "1@1.0:0.2,2@1.5:0.2,3@2.0:0.2,A@4.0:0.15,4@8.2:0.3,5@12.0:0.08,6@12.3:0.08," +
	"*@20.0:0.25,0@26.5:0.2,#@28.4:0.2,7@29.1:0.12,8@30.5:0.2,9@33.0:0.2,B@38.0:0.4,C@41.6:0.1,D@43.0:0.2"

// Random presses (--random-presses): lengths and gaps in seconds.
const (
	randomMinLen, randomMaxLen = 0.25, 0.6
	randomMinGap, randomMaxGap = 0.1, 0.8
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("dtmf-synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "sample.wav", "WAV file to write")
	truth := fs.String("truth", "", "also write the presses as JSON here")
	script := fs.String("presses", demoScript, "presses as KEY@START:LENGTH (seconds), comma-separated; KEY@START:LENGTH/V has voice V (1 = the first of --voices)")
	randomPresses := fs.Bool("random-presses", false, fmt.Sprintf("random presses over --duration instead of --presses (%g–%g s long, %g–%g s apart; --seed)", randomMinLen, randomMaxLen, randomMinGap, randomMaxGap))
	rate := fs.Int("rate", 44100, "sample rate, Hz")
	channels := fs.Int("channels", 2, "channels (the same signal in each)")
	duration := fs.Float64("duration", 45, "length of the file, seconds")
	noise := fs.Float64("noise-db", -40, "white noise relative to the tones, dB (0: none)")
	voiceList := fs.String("voices", "", fmt.Sprintf("voices speaking the presses: fundamentals in Hz (%g–%g, 10%% apart), comma-separated, or a count N (up to %d, spread over that range)", voices.MinF0, voices.MaxF0, voices.MaxVoices))
	turnKeys := fs.Int("turn-keys", 2, "with --voices: each voice speaks this many presses, then the next voice")
	randomTurns := fs.String("random-turns", "", "with --voices: turns of `MIN-MAX` presses, each by a random other voice (--seed)")
	seed := fs.Uint64("seed", 1, "seed of --random-presses and --random-turns")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dtmf-synth: unexpected arguments %q\n", fs.Args())
		return 2
	}
	rec, err := plan(*script, *randomPresses, *duration, *voiceList, *turnKeys, *randomTurns, *seed)
	if err != nil {
		fmt.Fprintf(stderr, "dtmf-synth: %v\n", err)
		return 2
	}
	err = write(*out, rec, *rate, *channels, *duration, *noise)
	if err == nil && *truth != "" {
		err = writeTruth(*truth, rec)
	}
	if err != nil {
		fmt.Fprintf(stderr, "dtmf-synth: %v\n", err)
		return 1
	}
	return 0
}

// recording is what to write: presses with their voice (F0 0: none) and
// the voice's number (1-based; 0: none).
type recording struct {
	presses  []voices.Press
	speakers []int
}

func plan(script string, random bool, duration float64, voiceList string, turnKeys int, randomTurns string, seed uint64) (recording, error) {
	var rec recording
	var presses []dtmf.Press
	var explicit []int // voice numbers from the script, 0 where none
	var err error
	if random {
		presses = voices.RandomPresses(duration, randomMinLen, randomMaxLen, randomMinGap, randomMaxGap, seed)
		explicit = make([]int, len(presses))
	} else if presses, explicit, err = parseScript(script); err != nil {
		return rec, err
	}
	f0s, err := parseVoices(voiceList)
	if err != nil {
		return rec, err
	}
	rec.speakers = make([]int, len(presses))
	given := 0
	for _, v := range explicit {
		if v > 0 {
			given++
		}
	}
	switch {
	case len(f0s) == 0 && given > 0:
		return rec, errors.New("presses name voices (/V) but --voices gives none")
	case len(f0s) == 0:
	case given > 0 && given < len(presses):
		return rec, errors.New("some presses name their voice (/V) and some do not: name it for all, or for none and use turns")
	case given > 0:
		for i, v := range explicit {
			if v > len(f0s) {
				return rec, fmt.Errorf("press %d names voice %d, but --voices gives %d", i+1, v, len(f0s))
			}
			rec.speakers[i] = v
		}
	case randomTurns != "":
		lo, hi, ok := strings.Cut(randomTurns, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if !ok || err1 != nil || err2 != nil || a < 1 || b < a {
			return rec, fmt.Errorf("--random-turns %q is not MIN-MAX presses, e.g. 1-6", randomTurns)
		}
		for i, v := range voices.RandomTurns(len(presses), len(f0s), a, b, seed) {
			rec.speakers[i] = v + 1
		}
	default:
		if turnKeys < 1 {
			return rec, fmt.Errorf("--turn-keys %d: at least 1", turnKeys)
		}
		for i, v := range voices.Turns(len(presses), len(f0s), turnKeys) {
			rec.speakers[i] = v + 1
		}
	}
	for i, p := range presses {
		vp := voices.Press{Press: p}
		if s := rec.speakers[i]; s > 0 {
			vp.F0 = f0s[s-1]
		}
		rec.presses = append(rec.presses, vp)
	}
	return rec, nil
}

// parseVoices reads --voices: "" (none), a count, or fundamentals in Hz.
func parseVoices(s string) ([]float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if n, err := strconv.Atoi(s); err == nil && float64(n) < voices.MinF0 {
		return voices.Spread(n)
	}
	var out []float64
	for _, item := range strings.Split(s, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(item), 64)
		if err != nil {
			return nil, fmt.Errorf("--voices %q: %q is not a frequency in Hz", s, item)
		}
		out = append(out, f)
	}
	if err := voices.Check(out); err != nil {
		return nil, fmt.Errorf("--voices: %v", err)
	}
	return out, nil
}

// parseScript reads KEY@START:LENGTH[/VOICE],… and returns the presses and
// each one's voice number (0 where none is given).
func parseScript(s string) ([]dtmf.Press, []int, error) {
	var presses []dtmf.Press
	var voiceOf []int
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		body, voice, hasVoice := strings.Cut(item, "/")
		key, rest, ok1 := strings.Cut(body, "@")
		start, length, ok2 := strings.Cut(rest, ":")
		st, err1 := strconv.ParseFloat(start, 64)
		ln, err2 := strconv.ParseFloat(length, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil || len([]rune(key)) != 1 {
			return nil, nil, fmt.Errorf("press %q is not KEY@START:LENGTH[/VOICE]", item)
		}
		k := []rune(key)[0]
		if _, _, ok := dtmf.Freqs(k); !ok {
			return nil, nil, fmt.Errorf("press %q: %q is not a DTMF key", item, key)
		}
		v := 0
		if hasVoice {
			n, err := strconv.Atoi(voice)
			if err != nil || n < 1 {
				return nil, nil, fmt.Errorf("press %q: voice %q is not a voice number (1, 2, …)", item, voice)
			}
			v = n
		}
		presses = append(presses, dtmf.Press{Key: k, Start: st, End: st + ln})
		voiceOf = append(voiceOf, v)
	}
	return presses, voiceOf, nil
}

func write(path string, rec recording, rate, channels int, duration, noise float64) error {
	mono := voices.Synthesize(rec.presses, rate, duration, dtmf.SynthOptions{NoiseDB: noise, Seed: 1})
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

// truthPress is one press of the truth JSON. Speaker (the voice's number
// in --voices, from 1) and F0 (its fundamental in Hz) are there only for
// a recording with voices.
type truthPress struct {
	Key     string  `json:"key"`
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	Speaker int     `json:"speaker,omitempty"`
	F0      float64 `json:"f0,omitempty"`
}

func writeTruth(path string, rec recording) error {
	out := make([]truthPress, len(rec.presses))
	for i, p := range rec.presses {
		out[i] = truthPress{Key: string(p.Key), Start: p.Start, End: p.End, Speaker: rec.speakers[i], F0: p.F0}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
