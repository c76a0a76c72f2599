package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// TestDevserverNetworkFlags covers the flags for faults of real networks
// and for throughput tests, each in a separate devserver process.
func TestDevserverNetworkFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := inferRequest([]dtmf.Press{{Key: '4', Start: 0.1, End: 0.3}}, 0.5)

	t.Run("batcher with compute skipped", func(t *testing.T) {
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--skip-compute", "--max-batch", "8", "--batch-latency", "50ms", "--batch-window", "300ms")
		c := client(t, d.addr)
		cfg, err := c.ModelConfig(ctx, &pb.ModelConfigRequest{Name: "dtmf"})
		if err != nil || cfg.Config.GetDynamicBatching() == nil || cfg.Config.Parameters["skip_compute"].GetStringValue() != "true" {
			t.Fatalf("config %v, %v", cfg, err)
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				resp, err := c.ModelInfer(ctx, req)
				if err != nil || transcript(t, resp) != "" {
					t.Errorf("with --skip-compute: %v, %v", resp, err)
				}
			})
		}
		wg.Wait()
		st, err := c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "dtmf"})
		if err != nil || st.ModelStats[0].InferenceCount != 3 || st.ModelStats[0].ExecutionCount != 1 {
			t.Errorf("3 requests within the window should be one execution: %v, %v", st, err)
		}
	})

	t.Run("drop-rate", func(t *testing.T) {
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--drop-rate", "1")
		c := client(t, d.addr)
		if _, err := c.ModelInfer(ctx, req); status.Code(err) != codes.Unavailable {
			t.Errorf("ModelInfer with --drop-rate 1: %v", err)
		}
		if _, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil {
			t.Errorf("no reconnect after a drop: %v", err)
		}
	})

	t.Run("restart-every", func(t *testing.T) {
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--restart-every", "200ms", "--down-for", "100ms")
		c, err := triton.New(triton.Config{Addr: d.addr, ReconnectDelay: 10 * time.Millisecond, ReconnectMaxDelay: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var down, upAgain bool
		deadline := time.Now().Add(5 * time.Second)
		for !upAgain && time.Now().Before(deadline) {
			_, err := c.ServerLive(ctx)
			down = down || err != nil
			upAgain = down && err == nil
			time.Sleep(10 * time.Millisecond)
		}
		if !upAgain {
			t.Errorf("never saw the server go down and come back (down %v)", down)
		}
		if code := d.stop(t, syscall.SIGTERM); code != 0 {
			t.Errorf("exit %d", code)
		}
		if !strings.Contains(d.stderr.String(), "restarting") {
			t.Errorf("stderr %q does not report the restarts", d.stderr)
		}
	})

	t.Run("mTLS", func(t *testing.T) {
		cs, err := tritontest.WriteCerts(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--tls-cert", cs.ServerCert, "--tls-key", cs.ServerKey, "--tls-client-ca", cs.CA)
		for _, tt := range []struct {
			tls  *triton.TLS
			code triton.Code
		}{
			{&triton.TLS{CAFile: cs.CA, CertFile: cs.ClientCert, KeyFile: cs.ClientKey}, ""},
			{&triton.TLS{CAFile: cs.CA}, triton.CodeTLS},
			{nil, triton.CodeTLS},
		} {
			c, err := triton.New(triton.Config{Addr: d.addr, TLS: tt.tls})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ServerLive(ctx)
			c.Close()
			if (tt.code == "" && err != nil) || (tt.code != "" && triton.CodeOf(err) != tt.code) {
				t.Errorf("TLS %+v: %v, want code %q", tt.tls, err, tt.code)
			}
		}
	})
}

func TestBadNetworkFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--fail-rate", "0.6", "--drop-rate", "0.6"},
		{"--drop-rate", "-0.1"},
		{"--tls-cert", "x.pem"},
		{"--tls-client-ca", "ca.pem"},
		{"--max-batch", "-1"},
		{"--batch-latency", "-1ms"},
		{"--restart-every", "-1s"},
	} {
		var errOut bytes.Buffer
		if code := run(context.Background(), args, &bytes.Buffer{}, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d (stderr %q), want 2 with a message", args, code, errOut.String())
		}
	}
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.pem"}, &bytes.Buffer{}, &errOut); code != 1 || !strings.Contains(errOut.String(), "TLS") {
		t.Errorf("unreadable certificate: exit %d, stderr %q", code, errOut.String())
	}
}
