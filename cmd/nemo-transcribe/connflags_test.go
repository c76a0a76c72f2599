package main

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

func parseConnFlags(args ...string) (inference.Config, error) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	build := addConnFlags(fs, "localhost:8001")
	if err := fs.Parse(args); err != nil {
		return inference.Config{}, err
	}
	return build()
}

func TestConnFlags(t *testing.T) {
	def := inference.DefaultRetryPolicy()
	tests := []struct {
		name string
		args []string
		want inference.Config
	}{
		{"defaults", nil, inference.Config{
			Addresses: []string{"localhost:8001"},
			Retry:     inference.RetryPolicy{Attempts: def.Attempts, MaxWait: def.MaxWait},
		}},
		{"replicas, TLS, headers, priority, retries", []string{
			"--server", "gpu1:8001, gpu2:8001,,",
			"--tls-ca", "ca.pem", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-server-name", "triton.lan",
			"--header", "Authorization: Bearer abc:def", "--header", "x-team:  speech ",
			"--priority", "2", "--retry-attempts", "4", "--retry-max-wait", "15s",
		}, inference.Config{
			Addresses: []string{"gpu1:8001", "gpu2:8001"},
			TLS:       inference.TLSConfig{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem", ServerName: "triton.lan"},
			Headers:   map[string]string{"authorization": "Bearer abc:def", "x-team": "speech"},
			Priority:  2,
			Retry:     inference.RetryPolicy{Attempts: 4, MaxWait: 15 * time.Second},
		}},
		{"audio form forced", []string{"--audio-input", "PCM16"}, inference.Config{
			Addresses:  []string{"localhost:8001"},
			Retry:      inference.RetryPolicy{Attempts: def.Attempts, MaxWait: def.MaxWait},
			AudioInput: models.InputAudioPCM16,
		}},
		{"audio form fp32", []string{"--audio-input", "fp32"}, inference.Config{
			Addresses:  []string{"localhost:8001"},
			Retry:      inference.RetryPolicy{Attempts: def.Attempts, MaxWait: def.MaxWait},
			AudioInput: models.InputAudio,
		}},
		{"audio form flac", []string{"--audio-input", "flac"}, inference.Config{
			Addresses:  []string{"localhost:8001"},
			Retry:      inference.RetryPolicy{Attempts: def.Attempts, MaxWait: def.MaxWait},
			AudioInput: models.InputAudioFLAC,
		}},
		{"audio form auto is the client's choice", []string{"--audio-input", "auto"}, inference.Config{
			Addresses: []string{"localhost:8001"},
			Retry:     inference.RetryPolicy{Attempts: def.Attempts, MaxWait: def.MaxWait},
		}},
		{"dns target and plain --tls", []string{"--server", "dns:///triton.lan:8001", "--tls"}, inference.Config{
			Addresses: []string{"dns:///triton.lan:8001"},
			TLS:       inference.TLSConfig{Enabled: true},
			Retry:     inference.RetryPolicy{Attempts: def.Attempts, MaxWait: def.MaxWait},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConnFlags(tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if got := connLabel(inference.Config{Addresses: []string{"a:1", "b:2"}}); got != "a:1,b:2" {
		t.Errorf("connLabel = %q", got)
	}
}

func TestConnFlagsUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--server", " , "}, "no address"},
		{[]string{"--header", "no-colon"}, "Key: Value"},
		{[]string{"--header", ": v"}, "Key: Value"},
		{[]string{"--header", "a: 1", "--header", "A: 2"}, "twice"},
		{[]string{"--priority", "-1"}, "--priority"},
		{[]string{"--retry-attempts", "0"}, "--retry-attempts"},
		{[]string{"--retry-max-wait", "0s"}, "--retry-max-wait"},
		{[]string{"--tls-cert", "c.pem"}, "go together"},
		{[]string{"--priority", "high"}, "invalid value"},
		{[]string{"--audio-input", "mp3"}, "use auto, flac, pcm16 or fp32"},
	} {
		_, err := parseConnFlags(tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want it to mention %q", tt.args, err, tt.want)
		}
	}
}

// TestConnFlagsConnect checks that what the flags build is a Config the
// inference package accepts, and that bad TLS files fail at connect with a
// TLS message rather than later.
func TestConnFlagsConnect(t *testing.T) {
	cfg, err := parseConnFlags("--server", "127.0.0.1:1,127.0.0.1:2", "--header", "authorization: Bearer x", "--priority", "1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := inference.ConnectConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg, _ = parseConnFlags("--tls-ca", t.TempDir()+"/missing.pem")
	if _, err := inference.ConnectConfig(cfg); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("missing CA file: %v", err)
	}
}

// TestStatusAudioForm checks that plain status names the audio form each
// model gets, and that --audio-input changes it: the most compact form
// the model declares by default, the one asked for, and FP32 for a model
// that takes nothing else.
func TestStatusAudioForm(t *testing.T) {
	compact := tritontest.Start(t, tritontest.Options{})
	fp32Only := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{tritontest.DTMFWith(tritontest.DTMFOptions{FP32Only: true})}})
	for _, tt := range []struct {
		name, addr string
		flags      []string
		want       string
	}{
		{"auto picks FLAC", compact, nil, "audio=flac"},
		{"pcm16 asked for", compact, []string{"--audio-input", "pcm16"}, "audio=pcm16"},
		{"fp32 asked for", compact, []string{"--audio-input", "fp32"}, "audio=fp32"},
		{"FP32-only model", fp32Only, nil, "audio=fp32"},
		{"FP32-only model, flac asked for", fp32Only, []string{"--audio-input", "flac"}, "audio=fp32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"status", "--server", tt.addr}, tt.flags...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			line := ""
			for _, l := range strings.Split(r.stdout, "\n") {
				if strings.Contains(l, tritontest.DTMFModelName) {
					line = l
				}
			}
			if !strings.HasSuffix(line, " "+tt.want) {
				t.Errorf("model line %q, want it to end with %q\n%s", line, tt.want, r.stdout)
			}
		})
	}
	if r := runCLI(t, "status", "--server", compact, "--audio-input", "opus"); r.code != exitUsage || !strings.Contains(r.stderr, "--audio-input") {
		t.Errorf("--audio-input opus: exit %d, stderr %q; want a usage error naming the flag", r.code, r.stderr)
	}
}
