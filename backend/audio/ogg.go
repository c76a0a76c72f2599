package audio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// An Ogg reader of our own for Opus (oggvorbis has its own): pages are
// checked against their CRC, a damaged page is skipped (the reader finds
// the next "OggS"), and packets of the first logical stream are put back
// together across pages.

const (
	oggHeaderSize = 27
	oggContinued  = 0x01
	oggBOS        = 0x02
	oggEOS        = 0x04
	// maxOggPacket bounds one packet (a comment packet may carry cover
	// art; audio packets are a few KiB).
	maxOggPacket = 16 << 20
	// maxOggResync bounds how far the reader looks for the next page
	// after damage.
	maxOggResync = 1 << 20
)

var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04C11DB7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	return crc
}

// oggPage is one page: header fields and the packet segments it carries.
type oggPage struct {
	flags   byte
	granule int64
	serial  uint32
	seq     uint32
	lacing  []byte
	body    []byte
}

// oggReader delivers the packets of the first logical stream of a file.
type oggReader struct {
	br      *bufio.Reader
	serial  uint32
	started bool

	page    oggPage
	segs    int    // lacing values of page consumed
	bodyOff int    // bytes of page.body consumed
	partial []byte // a packet continued on the next page
	hdr     [oggHeaderSize]byte
	bodyBuf []byte

	eos     bool // the end-of-stream page was reached
	damaged int  // pages skipped for bad checksums or lost sync
}

func newOggReader(r io.Reader) *oggReader {
	return &oggReader{br: bufio.NewReaderSize(r, 1<<16)}
}

// readPage reads the next page of any stream. It returns io.EOF at a
// clean end and io.ErrUnexpectedEOF when the file stops inside a page.
func (o *oggReader) readPage() (oggPage, error) {
	for {
		b, err := o.br.Peek(4)
		if len(b) == 0 && err == io.EOF {
			return oggPage{}, io.EOF
		}
		if err != nil && len(b) < 4 {
			return oggPage{}, io.ErrUnexpectedEOF
		}
		if string(b) != "OggS" {
			if err := o.resync(); err != nil {
				return oggPage{}, err
			}
			continue
		}
		if _, err := io.ReadFull(o.br, o.hdr[:]); err != nil {
			return oggPage{}, io.ErrUnexpectedEOF
		}
		h := o.hdr[:]
		le := binary.LittleEndian
		p := oggPage{
			flags:   h[5],
			granule: int64(le.Uint64(h[6:])),
			serial:  le.Uint32(h[14:]),
			seq:     le.Uint32(h[18:]),
		}
		want := le.Uint32(h[22:])
		n := int(h[26])
		if cap(o.bodyBuf) < n+255*n {
			o.bodyBuf = make([]byte, 0, 255*256)
		}
		p.lacing = o.bodyBuf[:n]
		if _, err := io.ReadFull(o.br, p.lacing); err != nil {
			return oggPage{}, io.ErrUnexpectedEOF
		}
		size := 0
		for _, l := range p.lacing {
			size += int(l)
		}
		p.body = o.bodyBuf[n : n+size]
		if _, err := io.ReadFull(o.br, p.body); err != nil {
			return oggPage{}, io.ErrUnexpectedEOF
		}
		crc := oggCRC(0, h[:22])
		crc = oggCRC(crc, []byte{0, 0, 0, 0})
		crc = oggCRC(crc, h[26:])
		crc = oggCRC(crc, p.lacing)
		crc = oggCRC(crc, p.body)
		if h[4] != 0 || crc != want {
			o.damaged++
			continue
		}
		return p, nil
	}
}

// resync skips to the next "OggS" after damage.
func (o *oggReader) resync() error {
	o.damaged++
	for skipped := 0; skipped < maxOggResync; {
		b, err := o.br.Peek(4096)
		if len(b) < 4 {
			if err == io.EOF || err == io.ErrUnexpectedEOF || len(b) < 4 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if i := bytes.Index(b[1:], []byte("OggS")); i >= 0 {
			o.br.Discard(i + 1)
			return nil
		}
		o.br.Discard(len(b) - 3)
		skipped += len(b) - 3
	}
	return fmt.Errorf("%w: no Ogg page in the %d bytes after damage", ErrCorrupt, maxOggResync)
}

// nextPacket returns the next packet of the stream and the granule
// position of the page it ends on when it is that page's last packet (-1
// otherwise). It returns io.EOF after the end-of-stream page, and
// io.ErrUnexpectedEOF when the file ends without one.
func (o *oggReader) nextPacket() ([]byte, int64, error) {
	for {
		if o.segs < len(o.page.lacing) {
			start := o.bodyOff
			for o.segs < len(o.page.lacing) {
				l := int(o.page.lacing[o.segs])
				o.segs++
				o.bodyOff += l
				if l < 255 {
					seg := o.page.body[start:o.bodyOff]
					granule := int64(-1)
					if !o.pendingOnPage() {
						granule = o.page.granule
					}
					if o.partial != nil {
						pkt := append(o.partial, seg...)
						o.partial = nil
						if len(pkt) > maxOggPacket {
							return nil, 0, fmt.Errorf("%w: an Ogg packet of more than %d bytes", ErrCorrupt, maxOggPacket)
						}
						return pkt, granule, nil
					}
					return seg, granule, nil
				}
			}
			// The page ends inside a packet: keep it for the next page.
			o.partial = append(o.partial, o.page.body[start:o.bodyOff]...)
			if len(o.partial) > maxOggPacket {
				return nil, 0, fmt.Errorf("%w: an Ogg packet of more than %d bytes", ErrCorrupt, maxOggPacket)
			}
			continue
		}
		if o.eos {
			return nil, 0, io.EOF
		}
		p, err := o.readPage()
		if err != nil {
			return nil, 0, err
		}
		if !o.started {
			if p.flags&oggBOS == 0 {
				o.damaged++
				continue
			}
			o.started, o.serial = true, p.serial
		}
		if p.serial != o.serial {
			continue // another logical stream (a video track, a chained file's next part)
		}
		o.page, o.segs, o.bodyOff = p, 0, 0
		if p.flags&oggContinued == 0 && o.partial != nil {
			o.partial = nil // the packet's continuation was lost
			o.damaged++
		}
		if p.flags&oggContinued != 0 && o.partial == nil {
			// A continuation of a packet we never saw: drop its tail.
			for o.segs < len(p.lacing) {
				l := int(p.lacing[o.segs])
				o.segs++
				o.bodyOff += l
				if l < 255 {
					break
				}
			}
		}
		if p.flags&oggEOS != 0 {
			o.eos = true
		}
	}
}

// pendingOnPage reports whether another packet ends later on the current
// page.
func (o *oggReader) pendingOnPage() bool {
	for _, l := range o.page.lacing[o.segs:] {
		if l < 255 {
			return true
		}
	}
	return false
}

// oggLastGranule finds the granule position of the last page of stream
// serial within the final tail bytes of r (size bytes long), or -1.
func oggLastGranule(r io.ReaderAt, size int64, serial uint32) int64 {
	const tail = 1 << 16
	start := max(0, size-tail)
	b := make([]byte, size-start)
	n, _ := r.ReadAt(b, start)
	b = b[:n]
	last := int64(-1)
	for i := 0; i+oggHeaderSize <= len(b); i++ {
		if string(b[i:i+4]) != "OggS" || b[i+4] != 0 {
			continue
		}
		h := b[i : i+oggHeaderSize]
		g := int64(binary.LittleEndian.Uint64(h[6:]))
		if binary.LittleEndian.Uint32(h[14:]) == serial && g >= 0 {
			last = g
		}
	}
	return last
}
