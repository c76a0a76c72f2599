package staging

import (
	"context"
	"hash"
	"io"
)

const (
	// copyBufferSize is one block of the copy: large enough that system
	// calls and hand-offs between goroutines cost nothing next to the
	// bytes, small enough that progress and cancellation stay prompt.
	copyBufferSize = 1 << 20
	// copyBuffers blocks circulate, so the reader can run ahead while the
	// current block is hashed and written.
	copyBuffers = 4
)

// block is a buffer the reader filled; err is the read's error (io.EOF at
// the end) after the n bytes.
type block struct {
	buf []byte
	n   int
	err error
}

// copyHashing copies in to out and feeds the same bytes to h, in one pass
// over the source. Reading, hashing and writing overlap: a reader goroutine
// fills blocks ahead, and each block is written by a writer goroutine while
// this one hashes it. A block is reused only when both are done with it.
// Cancellation is checked before every block; progress is reported after
// every block, from this goroutine.
func copyHashing(ctx context.Context, out io.Writer, h hash.Hash, in io.Reader, src, dst string,
	total int64, progress func(done, total int64)) (int64, *Error) {
	// A small file needs only one small buffer (+1: the read that gets
	// all of it also sees EOF). Not too small, though: the file may grow
	// while we copy it.
	size := copyBufferSize
	if total >= 0 && total < copyBufferSize {
		size = max(int(total)+1, 64<<10)
	}
	free := make(chan []byte, copyBuffers)
	filled := make(chan block, copyBuffers)
	stop := make(chan struct{})
	go readBlocks(in, size, free, filled, stop)
	defer func() {
		close(stop)
		for range filled { // wait for the reader: in is closed after we return
		}
	}()

	writes := make(chan []byte)
	written := make(chan error)
	go func() {
		for b := range writes {
			_, err := out.Write(b)
			written <- err
		}
	}()
	defer close(writes)

	var done int64
	for blk := range filled {
		if err := ctx.Err(); err != nil {
			return done, &Error{Op: OpRead, Path: src, Err: err}
		}
		if blk.n > 0 {
			data := blk.buf[:blk.n]
			writes <- data
			h.Write(data)
			if err := <-written; err != nil {
				return done, &Error{Op: OpWrite, Path: dst, Err: err}
			}
			done += int64(blk.n)
			if progress != nil {
				progress(done, max(total, done)) // the file may have grown
			}
		}
		free <- blk.buf
		switch {
		case blk.err == io.EOF:
			return done, nil
		case blk.err != nil:
			return done, &Error{Op: OpRead, Path: src, Err: blk.err}
		}
	}
	return done, nil // not reached: the reader always ends with an error or EOF
}

// readBlocks fills buffers from in and sends them on filled until the end
// of the input, a read error, or stop. It makes up to copyBuffers buffers
// of size bytes and otherwise reuses the ones that come back on free. It
// closes filled when it returns.
func readBlocks(in io.Reader, size int, free chan []byte, filled chan<- block, stop <-chan struct{}) {
	defer close(filled)
	made := 0
	for {
		var buf []byte
		select {
		case buf = <-free:
		case <-stop:
			return
		default:
			if made < copyBuffers {
				buf = make([]byte, size)
				made++
				break
			}
			select {
			case buf = <-free:
			case <-stop:
				return
			}
		}
		n, err := io.ReadFull(in, buf)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case filled <- block{buf: buf, n: n, err: err}:
		case <-stop:
			return
		}
		if err != nil {
			return
		}
	}
}
