package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// TestStatusAndTranscribeEitherReadyAnswer: against a server that answers
// ModelReady either way (OK ready=false up to r26.06, NOT_FOUND since) and
// lists models that are on disk but not loaded, status reports them all,
// transcribe works with the loaded model and fails within seconds, naming
// it, for one that is not loaded; a loading model is still waited for.
func TestStatusAndTranscribeEitherReadyAnswer(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			addr := tritontest.Start(t, tritontest.Options{
				Models:           []tritontest.Model{tritontest.DTMF(), tritontest.DTMFWith(tritontest.DTMFOptions{Name: "parakeet-tdt-0.6b-v2"})},
				Unloaded:         []string{"parakeet-tdt-0.6b-v2"},
				OnDisk:           []string{"canary-1b-v2"},
				LegacyModelReady: legacy,
			})
			r := runCLI(t, "status", "--json", "--server", addr)
			if r.code != 0 {
				t.Fatalf("status: exit %d: %s", r.code, r.stderr)
			}
			var st inference.ServerStatus
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range st.Models {
				got = append(got, fmt.Sprintf("%s:%v:%s", m.Name, m.Ready, m.State))
			}
			if want := "canary-1b-v2:false: dtmf:true:READY parakeet-tdt-0.6b-v2:false:"; strings.Join(got, " ") != want {
				t.Errorf("status models %v, want %s", got, want)
			}

			dir := t.TempDir()
			src := filepath.Join(dir, "a.wav")
			writeDTMF(t, src, truthPresses[:2], 16000, 4)
			r = runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", dir, "--cache-dir", filepath.Join(dir, "c"), src)
			if r.code != 0 {
				t.Fatalf("transcribe with the loaded model: exit %d: %s", r.code, r.stderr)
			}
			for _, model := range []string{"parakeet-tdt-0.6b-v2", "canary-1b-v2"} {
				start := time.Now()
				r = runCLI(t, "transcribe", "--server", addr, "--model", model, "--out", dir, "--cache-dir", filepath.Join(dir, "c"), src)
				if r.code != 1 || !strings.Contains(r.stderr, `"`+model+`"`) || !strings.Contains(r.stderr, "not loaded") {
					t.Errorf("%s: exit %d, stderr %q; want 1 naming the model and saying it is not loaded", model, r.code, r.stderr)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("%s: took %v to fail", model, d)
				}
			}
		})
	}
}

// TestLoadingModelIsWaitedForEitherWay: a model still loading is waited
// for, however the server answers ModelReady meanwhile.
func TestLoadingModelIsWaitedForEitherWay(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		addr := tritontest.Start(t, tritontest.Options{ReadyAfter: 1500 * time.Millisecond, LegacyModelReady: legacy})
		dir := t.TempDir()
		src := filepath.Join(dir, "a.wav")
		writeDTMF(t, src, truthPresses[:2], 16000, 4)
		r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", dir, "--cache-dir", filepath.Join(dir, "c"), src)
		if r.code != 0 || !strings.Contains(r.stderr, "waiting for model") {
			t.Errorf("legacy=%v: exit %d, stderr %q; want 0 after a waiting notice", legacy, r.code, r.stderr)
		}
	}
}
