package staging

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The 1 GB comparison with standard tools is bench/staging/run.sh; these
// measure the copy loop on 64 MiB, warm in the page cache.

const benchSize = 64 << 20

func benchSource(b *testing.B) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "src.bin")
	if err := os.WriteFile(p, pattern(benchSize, 1), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkCopyHashing is Stage's copy loop: reading, hashing and writing
// overlap.
func BenchmarkCopyHashing(b *testing.B) {
	benchCopy(b, func(out *os.File, in *os.File) error {
		_, e := copyHashing(context.Background(), out, sha256.New(), in, "src", "dst", benchSize, nil)
		if e != nil {
			return e
		}
		return nil
	})
}

// BenchmarkCopyHashingSerial is the anchor: the same work one step after
// the other, as io.Copy through an io.MultiWriter does it.
func BenchmarkCopyHashingSerial(b *testing.B) {
	buf := make([]byte, copyBufferSize)
	benchCopy(b, func(out *os.File, in *os.File) error {
		_, err := io.CopyBuffer(io.MultiWriter(out, sha256.New()), in, buf)
		return err
	})
}

func benchCopy(b *testing.B, copyFn func(out, in *os.File) error) {
	src := benchSource(b)
	dir := b.TempDir()
	b.SetBytes(benchSize)
	for b.Loop() {
		in, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, "copy.bin"))
		if err != nil {
			b.Fatal(err)
		}
		if err := copyFn(out, in); err != nil {
			b.Fatal(err)
		}
		in.Close()
		out.Close()
	}
}

// BenchmarkStage is the whole of Stage, fsync included: the disk decides.
func BenchmarkStage(b *testing.B) {
	src := benchSource(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		cache := b.TempDir()
		if _, err := Stage(context.Background(), src, cache, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
