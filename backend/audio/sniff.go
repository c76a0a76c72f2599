package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
)

// Kinds of file the built-in decoders read (fileKind.name).
const (
	kindWAV    = "WAV"
	kindFLAC   = "FLAC"
	kindMP3    = "MP3"
	kindVorbis = "Ogg Vorbis"
	kindOpus   = "Ogg Opus"
)

// fileKind is what sniffing learnt about a file.
type fileKind struct {
	// name is a human name of the format ("MP3", "M4A/AAC", "Matroska/WebM
	// video"), or "" when nothing was recognised.
	name string
	// offset is where the audio container starts, past any ID3v2 tags.
	offset int64
}

// sniffHead is how many bytes sniffing looks at.
const sniffHead = 4096

// maxID3Tags bounds how many ID3v2 tags in a row are skipped.
const maxID3Tags = 8

// sniffFile names the format of f from its content. It fails only for an
// empty or unreadable file.
func sniffFile(f *os.File) (fileKind, error) {
	var k fileKind
	head := make([]byte, sniffHead)
	for range maxID3Tags {
		if _, err := f.Seek(k.offset, io.SeekStart); err != nil {
			return k, err
		}
		n, err := io.ReadFull(f, head)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return k, err
		}
		if n == 0 {
			if k.offset == 0 {
				return k, ErrEmpty
			}
			k.name = "MP3" // ID3 tags and nothing else: the MP3 decoder says so
			return k, nil
		}
		b := head[:n]
		if size, ok := id3Size(b); ok {
			k.offset += size
			continue
		}
		k.name = sniffKind(b, k.offset > 0)
		return k, nil
	}
	k.name = sniffKind(head, true)
	return k, nil
}

// id3Size returns the size of the ID3v2 tag at the start of b, header and
// footer included.
func id3Size(b []byte) (int64, bool) {
	if len(b) < 10 || string(b[:3]) != "ID3" || b[3] == 0xFF || b[4] == 0xFF {
		return 0, false
	}
	var size int64
	for _, c := range b[6:10] {
		if c&0x80 != 0 {
			return 0, false
		}
		size = size<<7 | int64(c)
	}
	size += 10
	if b[5]&0x10 != 0 { // footer present
		size += 10
	}
	return size, true
}

// sniffKind names the format whose first bytes are b; afterID3 says b
// follows ID3 tags (which only MP3, AAC and FLAC files carry in practice).
func sniffKind(b []byte, afterID3 bool) string {
	has := func(off int, s string) bool {
		return len(b) >= off+len(s) && string(b[off:off+len(s)]) == s
	}
	switch {
	case has(0, "RIFF") && has(8, "WAVE"), has(0, "RF64") && has(8, "WAVE"), has(0, "BW64") && has(8, "WAVE"):
		if tag, ok := wavFormatTag(b); ok && tag != tagPCM && tag != tagFloat && tag != tagExtensible {
			return "WAV with " + tagName(tag) + " audio"
		}
		return kindWAV
	case has(0, "fLaC"):
		return kindFLAC
	case has(0, "OggS"):
		return oggKind(b)
	}
	if name := sniff(b); name != "" && name != "MP3" && name != "AAC (ADTS)" {
		return name
	}
	if layer, ok := mpegAudioAt(b, 0); ok {
		return layer
	}
	if isADTS(b) {
		return "AAC (ADTS)"
	}
	// MP3 files may start with a few bytes of junk before the first frame.
	for i := 1; i+4 <= len(b); i++ {
		if b[i] == 0xFF {
			if layer, ok := mpegAudioAt(b, i); ok {
				return layer
			}
		}
	}
	if afterID3 {
		return "MP3" // the MP3 decoder reports what is wrong with it
	}
	return ""
}

// sniff names the container of a file from its first bytes. It returns ""
// when nothing is recognised.
func sniff(b []byte) string {
	has := func(off int, s string) bool {
		return len(b) >= off+len(s) && string(b[off:off+len(s)]) == s
	}
	switch {
	case has(0, "RIFF") && has(8, "WAVE"), has(0, "RF64") && has(8, "WAVE"), has(0, "BW64") && has(8, "WAVE"):
		return "WAV"
	case has(0, "RIFF") && has(8, "AVI "):
		return "AVI video"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "WebP image"
	case has(0, "RIFF"):
		return "RIFF (not WAVE)"
	case has(0, "ID3"):
		return "MP3"
	case has(0, "fLaC"):
		return "FLAC"
	case has(0, "OggS"):
		return "Ogg"
	case has(4, "ftyp"):
		return mp4Kind(b)
	case has(0, "FORM") && (has(8, "AIFF") || has(8, "AIFC")):
		return "AIFF"
	case has(0, ".snd"):
		return "Sun AU"
	case has(0, "\x1a\x45\xdf\xa3"):
		if bytes.Contains(b[:min(len(b), 64)], []byte("webm")) {
			return "WebM"
		}
		return "Matroska"
	case has(0, "caff"):
		return "CAF"
	case has(0, "#!AMR"):
		return "AMR"
	case has(0, "0&\xb2\x75\x8e\x66\xcf\x11"):
		return "ASF/WMA"
	case has(0, "wvpk"):
		return "WavPack"
	case has(0, "MAC "):
		return "Monkey's Audio"
	case has(0, "MThd"):
		return "MIDI"
	case has(0, "\x00\x00\x01\xba"):
		return "MPEG program stream"
	case len(b) >= 377 && b[0] == 0x47 && b[188] == 0x47 && b[376] == 0x47:
		return "MPEG transport stream"
	case has(0, "\x0b\x77"):
		return "AC-3"
	case has(0, "\x89PNG"), has(0, "\xff\xd8\xff"), has(0, "GIF8"):
		return "image"
	case has(0, "%PDF"):
		return "PDF document"
	case has(0, "PK\x03\x04"):
		return "ZIP archive"
	case isADTS(b):
		return "AAC (ADTS)"
	case len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0:
		return "MP3"
	}
	return ""
}

// mp4Kind names an ISO media file by its major brand.
func mp4Kind(b []byte) string {
	if len(b) < 12 {
		return "MP4"
	}
	switch string(b[8:12]) {
	case "M4A ", "M4B ", "M4P ", "F4A ", "F4B ":
		return "M4A/AAC"
	case "qt  ":
		return "QuickTime video"
	case "3gp4", "3gp5", "3gp6", "3g2a", "3gp7", "3ge6", "3ge7", "3gg6":
		return "3GP"
	}
	return "MP4/M4A"
}

// oggKind names an Ogg file by the codec of its first packet.
func oggKind(b []byte) string {
	if len(b) < 27 {
		return "Ogg"
	}
	nseg := int(b[26])
	p := 27 + nseg
	if len(b) < p {
		return "Ogg"
	}
	pkt := b[p:]
	has := func(s string) bool { return len(pkt) >= len(s) && string(pkt[:len(s)]) == s }
	switch {
	case has("\x01vorbis"):
		return kindVorbis
	case has("OpusHead"):
		return kindOpus
	case has("\x7fFLAC"):
		return "Ogg FLAC"
	case has("Speex   "):
		return "Ogg Speex"
	case has("\x80theora"):
		return "Ogg Theora video"
	}
	return "Ogg"
}

// wavFormatTag reads the format tag of a WAV file's fmt chunk when it is
// within b (where every real writer puts it).
func wavFormatTag(b []byte) (uint16, bool) {
	for p := 12; p+8 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[p+4:]))
		if string(b[p:p+4]) == "fmt " {
			if p+10 > len(b) {
				return 0, false
			}
			tag := binary.LittleEndian.Uint16(b[p+8:])
			if tag == tagExtensible && p+8+26 <= len(b) && size >= 40 {
				tag = binary.LittleEndian.Uint16(b[p+8+24:])
			}
			return tag, true
		}
		if size < 0 || size > len(b) {
			return 0, false
		}
		p += 8 + size + size&1
	}
	return 0, false
}

// isADTS reports an AAC ADTS frame header at the start of b.
func isADTS(b []byte) bool {
	return len(b) >= 7 && b[0] == 0xFF && b[1]&0xF6 == 0xF0 && (b[2]>>2)&0xF < 13
}

// mpegAudioAt checks for two consecutive MPEG audio frames at off and
// names the layer: "MP3" for layer III, else "MP2"/"MP1".
func mpegAudioAt(b []byte, off int) (string, bool) {
	h, ok := parseMPEGHeader(b[off:])
	if !ok {
		return "", false
	}
	next := off + h.size
	if next+4 <= len(b) {
		h2, ok := parseMPEGHeader(b[next:])
		if !ok || h2.version != h.version || h2.layer != h.layer || h2.rate != h.rate {
			return "", false
		}
	} else if off > 0 {
		return "", false // one lone frame header after junk proves little
	}
	switch h.layer {
	case 3:
		return "MP3", true
	case 2:
		return "MP2", true
	}
	return "MP1", true
}

// needsFFmpeg is the error for a format only ffmpeg reads.
func needsFFmpeg(k fileKind) error {
	if k.name == "" {
		return fmt.Errorf("%w: unrecognised content (without ffmpeg only WAV, FLAC, MP3, Ogg Vorbis and Opus are read; %s)",
			ErrUnsupportedFormat, installHint())
	}
	return &multiError{
		msg:  fmt.Sprintf("%s needs ffmpeg: %s", k.name, installHint()),
		errs: []error{ErrUnsupportedFormat, ErrNeedsFFmpeg},
	}
}

// installHint tells how to get ffmpeg on this system.
func installHint() string {
	how := "apt install ffmpeg"
	switch runtime.GOOS {
	case "windows":
		how = "winget install Gyan.FFmpeg"
	case "darwin":
		how = "brew install ffmpeg"
	}
	return "install it (" + how + ") or set its path in Settings"
}
