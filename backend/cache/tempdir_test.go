package cache

import (
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/internal/testfs"
)

// tempDir is testfs.TempDir: safe to clean up under Wine too.
func tempDir(t testing.TB) string { return testfs.TempDir(t) }
