package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/models"
)

// addConnFlags registers the flags that say how to reach the Triton server
// (--server and its TLS, header, priority and retry settings) and returns
// a function that, after fs.Parse, builds the inference.Config or says
// which flag is wrong (a usage error).
func addConnFlags(fs *flag.FlagSet, defaultAddr string) func() (inference.Config, error) {
	def := inference.DefaultRetryPolicy()
	server := fs.String("server", defaultAddr, "Triton gRPC address `host:port` (port 8001 if left out); several comma-separated replicas share the work, or dns:///host:port uses every address the name has")
	useTLS := fs.Bool("tls", false, "connect with TLS (implied by the other --tls-* flags)")
	caFile := fs.String("tls-ca", "", "trust server certificates signed by this CA (PEM `FILE`) instead of the system's")
	certFile := fs.String("tls-cert", "", "client certificate (PEM `FILE`) for servers that require one (mTLS), with --tls-key")
	keyFile := fs.String("tls-key", "", "private key (PEM `FILE`) of --tls-cert")
	serverName := fs.String("tls-server-name", "", "`NAME` the server's certificate must carry, when it differs from the host dialled")
	headers := map[string]string{}
	var headerErr error
	fs.Func("header", "extra request header `'Key: Value'` sent with every call, e.g. 'authorization: Bearer TOKEN' for a gateway (repeatable)", func(v string) error {
		k, val, ok := strings.Cut(v, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return fmt.Errorf("want 'Key: Value', got %q", v)
		}
		if _, dup := headers[strings.ToLower(k)]; dup {
			headerErr = fmt.Errorf("--header %s given twice", k)
		}
		headers[strings.ToLower(k)] = strings.TrimSpace(val)
		return nil
	})
	priority := fs.Int("priority", 0, "Triton request priority `N`: 1 is the highest, larger is lower; 0 leaves the model's default")
	attempts := fs.Int("retry-attempts", def.Attempts, "attempts per chunk when the server fails transiently (the first included)")
	maxWait := fs.Duration("retry-max-wait", def.MaxWait, "stop retrying a chunk after this long")
	audioInput := fs.String("audio-input", "auto", "form the audio is sent in: `auto` (the most compact the model declares: flac, then pcm16, then fp32), flac, pcm16 or fp32; a form the model lacks falls back to fp32")

	return func() (inference.Config, error) {
		var addrs []string
		for _, a := range strings.Split(*server, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		switch {
		case len(addrs) == 0:
			return inference.Config{}, errors.New("--server: no address given")
		case headerErr != nil:
			return inference.Config{}, headerErr
		case *priority < 0:
			return inference.Config{}, fmt.Errorf("--priority %d: must be 0 (the model's default) or more", *priority)
		case *attempts < 1:
			return inference.Config{}, fmt.Errorf("--retry-attempts %d: must be at least 1", *attempts)
		case *maxWait <= 0:
			return inference.Config{}, fmt.Errorf("--retry-max-wait %s: must be more than 0", *maxWait)
		case (*certFile == "") != (*keyFile == ""):
			return inference.Config{}, errors.New("--tls-cert and --tls-key go together")
		}
		input, ok := audioInputs[strings.ToLower(strings.TrimSpace(*audioInput))]
		if !ok {
			return inference.Config{}, fmt.Errorf("--audio-input %q: use auto, flac, pcm16 or fp32", *audioInput)
		}
		cfg := inference.Config{
			Addresses: addrs,
			TLS: inference.TLSConfig{
				Enabled: *useTLS, CAFile: *caFile, CertFile: *certFile, KeyFile: *keyFile, ServerName: *serverName,
			},
			Priority:   *priority,
			Retry:      inference.RetryPolicy{Attempts: *attempts, MaxWait: *maxWait},
			AudioInput: input,
		}
		if len(headers) > 0 {
			cfg.Headers = headers
		}
		return cfg, nil
	}
}

// audioInputs maps --audio-input's words to inference.Config.AudioInput
// (the contract's input names; "" lets the client choose).
var audioInputs = map[string]string{
	"auto":  "",
	"flac":  models.InputAudioFLAC,
	"pcm16": models.InputAudioPCM16,
	"fp32":  models.InputAudio,
}

// audioFormWord is how plain output names the audio form a model gets:
// --audio-input's word for it, or "-" for a model that takes no speech
// audio (a speaker model, or one not fitting the contract).
func audioFormWord(input string) string {
	for w, in := range audioInputs {
		if in == input && in != "" {
			return w
		}
	}
	return "-"
}

// connLabel is how messages name the server(s) of cfg.
func connLabel(cfg inference.Config) string { return strings.Join(cfg.Addresses, ",") }
