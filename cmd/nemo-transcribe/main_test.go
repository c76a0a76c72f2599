package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"testing"
)

// cliEnv makes the test binary act as the CLI itself: tests that need a
// real process (kill -9) run os.Args[0] with it set.
const cliEnv = "NEMO_TRANSCRIBE_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	// Nothing a test runs may touch the user's own data or cache folders.
	home, err := os.MkdirTemp("", "nemo-transcribe-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range []string{"XDG_DATA_HOME", "XDG_CACHE_HOME"} {
		os.Setenv(k, home+"/"+k)
	}
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// testDataDirs gives every test (and subtest) its own database, so one
// test's stored results never answer another's requests.
var testDataDirs sync.Map

// withDataDir adds --data-dir to a transcribe or history command that
// does not name one.
func withDataDir(t *testing.T, args []string) []string {
	t.Helper()
	if len(args) == 0 || (args[0] != "transcribe" && args[0] != "history") {
		return args
	}
	if slices.ContainsFunc(args, func(a string) bool { return a == "--data-dir" || a == "-data-dir" }) {
		return args
	}
	dir, ok := testDataDirs.Load(t.Name())
	if !ok {
		dir, _ = testDataDirs.LoadOrStore(t.Name(), t.TempDir())
	}
	sub := args[:1]
	if args[0] == "history" && len(args) > 1 {
		sub = args[:2]
	}
	out := append(slices.Clone(sub), "--data-dir", dir.(string))
	return append(out, args[len(sub):]...)
}
