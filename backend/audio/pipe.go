package audio

import (
	"io"
	"sync"
)

// pipedSource runs a built-in decoder on its own goroutine, a few blocks
// ahead of the resampler that reads it, so that decoding and resampling
// share the machine's cores: on two cores a file decodes in about the time
// of the slower of the two instead of their sum. Memory stays bounded:
// at most pipeDepth blocks are in flight.
type pipedSource struct {
	src    source
	blocks chan pipeBlock
	free   chan []float32
	quit   chan struct{}
	done   chan struct{}
	stop   sync.Once

	cur  pipeBlock
	pos  int
	last sourceStatus // as of the last block received
	end  error        // the error that ended the stream (io.EOF at the end)
}

// pipeBlock is one read from the decoder.
type pipeBlock struct {
	x   []float32
	err error
	st  sourceStatus
}

const (
	pipeDepth     = 4
	pipeBlockSize = 8192
)

func newPipedSource(src source) *pipedSource {
	p := &pipedSource{
		src:    src,
		blocks: make(chan pipeBlock, pipeDepth),
		free:   make(chan []float32, pipeDepth+2),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	for range pipeDepth + 2 {
		p.free <- make([]float32, pipeBlockSize)
	}
	go p.run()
	return p
}

// run decodes until the end, an error, or Close.
func (p *pipedSource) run() {
	defer close(p.done)
	for {
		var buf []float32
		select {
		case buf = <-p.free:
		case <-p.quit:
			return
		}
		n, err := p.src.readMono(buf)
		b := pipeBlock{x: buf[:n], err: err, st: p.src.status()}
		select {
		case p.blocks <- b:
		case <-p.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

func (p *pipedSource) readMono(dst []float32) (int, error) {
	for p.pos >= len(p.cur.x) {
		if p.end != nil {
			return 0, p.end
		}
		if p.cur.x != nil {
			p.free <- p.cur.x[:cap(p.cur.x)]
			p.cur.x = nil
		}
		b := <-p.blocks
		p.cur, p.pos, p.last = b, 0, b.st
		if b.err != nil {
			p.end = b.err
		}
	}
	n := copy(dst, p.cur.x[p.pos:])
	p.pos += n
	return n, nil
}

// status is the decoder's as of the last block read; frames counts only
// what was handed on.
func (p *pipedSource) status() sourceStatus {
	st := p.last
	st.frames -= int64(len(p.cur.x) - p.pos)
	return st
}

// Close stops the decoding goroutine and waits for it, so that the file
// can be closed after.
func (p *pipedSource) Close() error {
	p.stop.Do(func() { close(p.quit) })
	<-p.done
	if c, ok := p.src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
