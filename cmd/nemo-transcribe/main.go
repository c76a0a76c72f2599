// Command nemo-transcribe is the headless face of NeMo Transcribe: the same
// engine as the desktop app, for batch use, scripts and tests. Its flags,
// `status --json` and the JSON export schema are a public contract: extend
// them, never break them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C cancels the work, which then ends tidily (finished
	// chunks are kept); a second one stops the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
