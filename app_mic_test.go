package main

import (
	"encoding/xml"
	"os"
	"regexp"
	"strings"
	"testing"
)

// macOS kills an app that opens the microphone without saying why in its
// Info.plist; WKWebView's getUserMedia is such an opening. Both plists
// Wails builds from (release and dev) must carry the sentence.
func TestInfoPlistsSayWhyTheMicrophone(t *testing.T) {
	placeholders := regexp.MustCompile(`\{\{[^}]*\}\}`)
	for _, path := range []string{"build/darwin/Info.plist", "build/darwin/Info.dev.plist"} {
		t.Run(path, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Wails fills the {{…}} template actions; what is left must be
			// a plist whose dict has the key followed by a sentence.
			dec := xml.NewDecoder(strings.NewReader(placeholders.ReplaceAllString(string(data), "x")))
			dec.Strict = false
			var texts []string
			var inElem string
			for {
				tok, err := dec.Token()
				if err != nil {
					break
				}
				switch v := tok.(type) {
				case xml.StartElement:
					inElem = v.Name.Local
				case xml.CharData:
					if s := strings.TrimSpace(string(v)); s != "" && (inElem == "key" || inElem == "string") {
						texts = append(texts, inElem+":"+s)
					}
				}
			}
			for i, s := range texts {
				if s == "key:NSMicrophoneUsageDescription" {
					if i+1 < len(texts) && strings.HasPrefix(texts[i+1], "string:") && strings.HasSuffix(texts[i+1], ".") {
						return
					}
					t.Fatalf("NSMicrophoneUsageDescription is not followed by a sentence: %q", texts[i+1:])
				}
			}
			t.Fatal("no NSMicrophoneUsageDescription")
		})
	}
}
