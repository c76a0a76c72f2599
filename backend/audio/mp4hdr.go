package audio

import (
	"encoding/binary"
	"errors"
	"io"
)

// A small reader of ISO base media (MP4, M4A, MOV, 3GP) headers: enough of
// moov to learn the first sound track's codec, rate, channels and length,
// so that ffmpeg can start without an ffprobe run first (about 50 ms per
// file). Only the boxes on the path to those facts are read, each through
// ReadAt and bounded in size; the sample tables, often megabytes, are
// skipped. Anything unusual returns errMP4Unusual and ffprobe decides.

var errMP4Unusual = errors.New("audio: MP4 headers this reader leaves to ffprobe")

const (
	mp4MaxBoxes = 4096    // boxes looked at in all
	mp4MaxDepth = 8       // nesting of container boxes
	mp4MaxLeaf  = 1 << 16 // bytes read of one leaf box (mvhd, stsd, ...)
)

// mp4Audio is what the headers say about the first sound track.
type mp4Audio struct {
	codec    string // ffmpeg's name: only "aac" is returned
	rate     int
	channels int
	duration float64 // seconds, 0 when unknown
}

type mp4Box struct {
	typ        string
	start, end int64 // the body: after the header, to the box's end
}

type mp4Reader struct {
	r     io.ReaderAt
	boxes int
}

// children lists the boxes inside [start, end).
func (m *mp4Reader) children(start, end int64) ([]mp4Box, error) {
	var out []mp4Box
	var h [16]byte
	for pos := start; pos+8 <= end; {
		if m.boxes++; m.boxes > mp4MaxBoxes {
			return nil, errMP4Unusual
		}
		if _, err := m.r.ReadAt(h[:8], pos); err != nil {
			return nil, errMP4Unusual
		}
		size := int64(binary.BigEndian.Uint32(h[:4]))
		hdr := int64(8)
		switch size {
		case 0: // to the end of the enclosing box (or file)
			size = end - pos
		case 1:
			if _, err := m.r.ReadAt(h[8:16], pos+8); err != nil {
				return nil, errMP4Unusual
			}
			u := binary.BigEndian.Uint64(h[8:16])
			if u > 1<<62 {
				return nil, errMP4Unusual
			}
			size, hdr = int64(u), 16
		}
		if size < hdr || size > end-pos {
			return nil, errMP4Unusual
		}
		out = append(out, mp4Box{typ: string(h[4:8]), start: pos + hdr, end: pos + size})
		pos += size
	}
	return out, nil
}

// leaf reads a small box's body whole.
func (m *mp4Reader) leaf(b mp4Box) ([]byte, error) {
	n := b.end - b.start
	if n > mp4MaxLeaf {
		return nil, errMP4Unusual
	}
	buf := make([]byte, n)
	if _, err := m.r.ReadAt(buf, b.start); err != nil {
		return nil, errMP4Unusual
	}
	return buf, nil
}

func findBox(boxes []mp4Box, typ string) (mp4Box, bool) {
	for _, b := range boxes {
		if b.typ == typ {
			return b, true
		}
	}
	return mp4Box{}, false
}

// path descends through container boxes named by types.
func (m *mp4Reader) path(b mp4Box, types ...string) (mp4Box, error) {
	if len(types) > mp4MaxDepth {
		return mp4Box{}, errMP4Unusual
	}
	for _, t := range types {
		kids, err := m.children(b.start, b.end)
		if err != nil {
			return mp4Box{}, err
		}
		var ok bool
		if b, ok = findBox(kids, t); !ok {
			return mp4Box{}, errMP4Unusual
		}
	}
	return b, nil
}

// parseMP4Audio reads the first sound track of an ISO media file of size
// bytes.
func parseMP4Audio(r io.ReaderAt, size int64) (mp4Audio, error) {
	m := &mp4Reader{r: r}
	top, err := m.children(0, size)
	if err != nil {
		return mp4Audio{}, err
	}
	moov, ok := findBox(top, "moov")
	if !ok {
		return mp4Audio{}, errMP4Unusual
	}
	kids, err := m.children(moov.start, moov.end)
	if err != nil {
		return mp4Audio{}, err
	}
	mvhd, ok := findBox(kids, "mvhd")
	if !ok {
		return mp4Audio{}, errMP4Unusual
	}
	body, err := m.leaf(mvhd)
	if err != nil {
		return mp4Audio{}, err
	}
	movieScale, _, ok := timeHeader(body)
	if !ok {
		return mp4Audio{}, errMP4Unusual
	}
	for _, trak := range kids {
		if trak.typ != "trak" {
			continue
		}
		a, sound, err := m.soundTrack(trak, movieScale)
		if err != nil {
			return mp4Audio{}, err
		}
		if sound {
			return a, nil // the first sound track, as ffmpeg's 0:a:0
		}
	}
	return mp4Audio{}, errMP4Unusual // no sound: ffprobe says what there is
}

// soundTrack reads one trak; sound is false for a track of another kind.
func (m *mp4Reader) soundTrack(trak mp4Box, movieScale uint32) (a mp4Audio, sound bool, err error) {
	mdia, err := m.path(trak, "mdia")
	if err != nil {
		return a, false, err
	}
	kids, err := m.children(mdia.start, mdia.end)
	if err != nil {
		return a, false, err
	}
	hdlr, ok := findBox(kids, "hdlr")
	if !ok {
		return a, false, errMP4Unusual
	}
	body, err := m.leaf(hdlr)
	if err != nil || len(body) < 12 {
		return a, false, errMP4Unusual
	}
	if string(body[8:12]) != "soun" {
		return a, false, nil
	}
	mdhd, ok := findBox(kids, "mdhd")
	if !ok {
		return a, true, errMP4Unusual
	}
	if body, err = m.leaf(mdhd); err != nil {
		return a, true, err
	}
	scale, dur, ok := timeHeader(body)
	if !ok {
		return a, true, errMP4Unusual
	}
	a.duration = float64(dur) / float64(scale)
	if d, ok, err := m.editedLength(trak, movieScale); err != nil {
		return a, true, err
	} else if ok {
		a.duration = d
	}
	stsd, err := m.path(mdia, "minf", "stbl", "stsd")
	if err != nil {
		return a, true, err
	}
	if body, err = m.leaf(stsd); err != nil {
		return a, true, err
	}
	if err := parseStsd(body, &a); err != nil {
		return a, true, err
	}
	return a, true, nil
}

// timeHeader reads the timescale and duration of an mvhd or mdhd body.
func timeHeader(b []byte) (scale uint32, dur uint64, ok bool) {
	be := binary.BigEndian
	switch {
	case len(b) >= 20 && b[0] == 0:
		scale, dur = be.Uint32(b[12:]), uint64(be.Uint32(b[16:]))
		if dur == 0xFFFFFFFF {
			return 0, 0, false // unknown length
		}
	case len(b) >= 32 && b[0] == 1:
		scale, dur = be.Uint32(b[20:]), be.Uint64(b[24:])
		if dur == ^uint64(0) || dur > 1<<53 {
			return 0, 0, false
		}
	default:
		return 0, 0, false
	}
	return scale, dur, scale > 0
}

// editedLength is the length an edit list gives the track, in seconds:
// ffmpeg plays the track through it (AAC's encoder priming is cut that
// way). ok is false when there is no edit list. Lists other than an
// optional leading empty edit and one plain edit go to ffprobe.
func (m *mp4Reader) editedLength(trak mp4Box, movieScale uint32) (float64, bool, error) {
	kids, err := m.children(trak.start, trak.end)
	if err != nil {
		return 0, false, err
	}
	edts, ok := findBox(kids, "edts")
	if !ok {
		return 0, false, nil
	}
	elst, err := m.path(edts, "elst")
	if err != nil {
		return 0, false, err
	}
	b, err := m.leaf(elst)
	if err != nil || len(b) < 8 {
		return 0, false, errMP4Unusual
	}
	be := binary.BigEndian
	n := be.Uint32(b[4:])
	entry := 12
	if b[0] == 1 {
		entry = 20
	}
	if n == 0 || n > 2 || len(b) < 8+int(n)*entry {
		return 0, false, errMP4Unusual
	}
	var total uint64
	for i := range int(n) {
		e := b[8+i*entry:]
		var segDur uint64
		var mediaTime int64
		if b[0] == 1 {
			segDur, mediaTime = be.Uint64(e), int64(be.Uint64(e[8:]))
		} else {
			segDur, mediaTime = uint64(be.Uint32(e)), int64(int32(be.Uint32(e[4:])))
		}
		if mediaTime == -1 && i > 0 || mediaTime < -1 || segDur > 1<<53 {
			return 0, false, errMP4Unusual
		}
		if be.Uint32(e[entry-4:]) != 0x00010000 {
			return 0, false, errMP4Unusual // a rate other than 1
		}
		total += segDur
	}
	if total == 0 {
		return 0, false, nil // some muxers write a zero length: use mdhd's
	}
	return float64(total) / float64(movieScale), true, nil
}

// parseStsd reads the first sample description: plain AAC in an mp4a
// entry.
func parseStsd(b []byte, a *mp4Audio) error {
	be := binary.BigEndian
	if len(b) < 8 || be.Uint32(b[4:]) < 1 {
		return errMP4Unusual
	}
	e := b[8:]
	if len(e) < 36 {
		return errMP4Unusual
	}
	size := int(be.Uint32(e))
	if size < 36 || size > len(e) || string(e[4:8]) != "mp4a" {
		return errMP4Unusual
	}
	e = e[:size]
	kids := 36
	switch be.Uint16(e[16:]) { // the QuickTime version of the entry
	case 0:
	case 1:
		kids += 16
	default:
		return errMP4Unusual // version 2 keeps the rate elsewhere
	}
	asc, err := findESDSConfig(e, kids, 0)
	if err != nil {
		return err
	}
	// The AudioSpecificConfig, not the entry, is what the decoder goes by
	// (ffmpeg writes 2 channels in the entry of a mono MP4).
	rate, channels, ok := parseASC(asc)
	if !ok {
		return errMP4Unusual
	}
	a.rate, a.channels, a.codec = rate, channels, "aac"
	return nil
}

// findESDSConfig finds the esds box among the sample entry's children
// (from offset at) and returns its AAC decoder specific info.
// QuickTime files keep it one level down, in a "wave" box.
func findESDSConfig(e []byte, at, depth int) ([]byte, error) {
	be := binary.BigEndian
	for at+8 <= len(e) {
		size := int(be.Uint32(e[at:]))
		if size < 8 || size > len(e)-at {
			return nil, errMP4Unusual
		}
		switch string(e[at+4 : at+8]) {
		case "esds":
			return esdsConfig(e[at+8 : at+size])
		case "wave":
			if depth == 0 {
				return findESDSConfig(e[:at+size], at+8, 1)
			}
		}
		at += size
	}
	return nil, errMP4Unusual
}

// esdsConfig walks the MPEG-4 descriptors of an esds body (after its
// version and flags) to the DecoderSpecificInfo of an MPEG-4 audio stream.
func esdsConfig(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, errMP4Unusual
	}
	d := b[4:]
	tag, body, ok := descriptor(d)
	if !ok || tag != 0x03 || len(body) < 3 {
		return nil, errMP4Unusual
	}
	flags := body[2]
	body = body[3:]
	if flags&0x80 != 0 { // dependsOn_ES_ID
		if len(body) < 2 {
			return nil, errMP4Unusual
		}
		body = body[2:]
	}
	if flags&0x40 != 0 { // URL
		if len(body) < 1 || len(body) < 1+int(body[0]) {
			return nil, errMP4Unusual
		}
		body = body[1+int(body[0]):]
	}
	if flags&0x20 != 0 { // OCR_ES_Id
		if len(body) < 2 {
			return nil, errMP4Unusual
		}
		body = body[2:]
	}
	tag, dcd, ok := descriptor(body)
	if !ok || tag != 0x04 || len(dcd) < 13 || dcd[0] != 0x40 { // 0x40: MPEG-4 audio
		return nil, errMP4Unusual
	}
	tag, dsi, ok := descriptor(dcd[13:])
	if !ok || tag != 0x05 {
		return nil, errMP4Unusual
	}
	return dsi, nil
}

// descriptor splits off one tag-length-value descriptor (the length is
// one to four bytes of seven bits).
func descriptor(b []byte) (tag byte, body []byte, ok bool) {
	if len(b) < 2 {
		return 0, nil, false
	}
	tag = b[0]
	n, i := 0, 1
	for ; i < len(b) && i <= 4; i++ {
		n = n<<7 | int(b[i]&0x7F)
		if b[i]&0x80 == 0 {
			break
		}
	}
	if i >= len(b) || i > 4 || n > len(b)-i-1 {
		return 0, nil, false
	}
	return tag, b[i+1 : i+1+n], true
}

var aacRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// parseASC reads the rate and channels of an AudioSpecificConfig for the
// plain AAC object types. ok is false for others, for SBR (HE-AAC: the
// decoder's rate is twice the core's) signalled either way, for channel
// configuration 0 (a program config element) and 7 and up, and for what
// it cannot follow.
func parseASC(b []byte) (rate, channels int, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	v := uint32(b[0])<<8 | uint32(b[1])
	aot := v >> 11
	idx := v >> 7 & 0xF
	cfg := int(v >> 3 & 0xF)
	dependsOnCore := v>>1&1 != 0
	switch aot {
	case 1, 2, 3, 4: // AAC main, LC, SSR, LTP
	default:
		return 0, 0, false
	}
	if int(idx) >= len(aacRates) || cfg < 1 || cfg > 6 || dependsOnCore {
		return 0, 0, false
	}
	rest := b[2:]
	if len(rest) >= 2 && (uint32(rest[0])<<3|uint32(rest[1])>>5) == 0x2B7 {
		// Backward-compatible extension signalling: allowed only when it
		// says there is no SBR.
		if rest[1]&0x1F != 5 || len(rest) < 3 || rest[2]&0x80 != 0 {
			return 0, 0, false
		}
		rest = nil
	}
	for _, c := range rest {
		if c != 0 {
			return 0, 0, false
		}
	}
	return aacRates[idx], cfg, true
}
