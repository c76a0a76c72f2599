package apperr

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"unicode"
)

// Text is a sentence for the UI in a form it can show in its own
// language: the English as Go wrote it, and the catalog key of the
// sentence within it with the values of its {1}, {2}, … placeholders. A
// parameter that is itself a sentence of ours (an error wrapped in
// another's message) is a Text too; other parameters (names, numbers,
// the operating system's error texts) carry only their text and stay as
// they are. Before and After are the context the English has around the
// keyed sentence ("sample.wav: "), kept as they are.
type Text struct {
	Text   string `json:"text"`
	Key    string `json:"key,omitempty"`
	Params []Text `json:"params,omitempty"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// Textf is fmt.Sprintf(format, args...) as a Text. Like New, it wants a
// constant format, whose key is in the UI's catalog; a format of verbs
// only ("%s: %v") has no words to translate and no key, except a lone
// verb given one of our errors, which passes that error's key on.
func Textf(format string, args ...any) Text {
	text := fmt.Sprintf(format, args...)
	verbs, ok := scanVerbs(format)
	if !ok || len(verbs) != len(args) {
		return Text{Text: text}
	}
	if !hasWords(format, verbs) {
		if len(args) == 1 && format == verbs[0].spec && (verbs[0].verb == 's' || verbs[0].verb == 'v') {
			if err, isErr := args[0].(error); isErr {
				if inner := Localize(err); inner.Key != "" && inner.Text == text {
					return inner
				}
			}
		}
		return Text{Text: text}
	}
	t := Text{Text: text, Key: KeyOf(format)}
	for i, a := range args {
		t.Params = append(t.Params, param(verbs[i], a))
	}
	return t
}

// param is one argument as its verb prints it; an error of ours printed
// with %s or %v keeps its key.
func param(v verb, arg any) Text {
	s := fmt.Sprintf(v.spec, arg)
	if err, ok := arg.(error); ok && (v.verb == 's' || v.verb == 'v') {
		if t := Localize(err); t.Key != "" && t.Text == s {
			return t
		}
	}
	return Text{Text: s}
}

// Localize is err's message (what Message gives) as a Text: the first
// *Error in the chain keyed, with the context wrapped around it kept as
// Before and After. An error with no *Error in it has no key.
func Localize(err error) Text {
	if err == nil {
		return Text{}
	}
	full := Message(err)
	var e *Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) {
			return Textf("cancelled") // as Message words it
		}
		return Text{Text: full}
	}
	if e.text.Key == "" {
		return Text{Text: full}
	}
	i := strings.LastIndex(full, e.Message)
	if i < 0 {
		return Text{Text: full}
	}
	t := e.text
	t.Text = full
	t.Before = full[:i] + t.Before
	t.After = t.After + full[i+len(e.Message):]
	return t
}

// KeyOf is the catalog key of a format: "go." and a hash of the format,
// so a change of wording is a new key that every catalog must translate.
func KeyOf(format string) string {
	h := fnv.New32a()
	h.Write([]byte(format))
	return "go." + strconv.FormatUint(uint64(h.Sum32())|1<<32, 16)[1:]
}

// Template is a format as the catalog writes it: verbs become {1}, {2}, …
// and %% a percent sign; ok is false for a format whose verbs this does
// not read (explicit argument indexes, a * width).
func Template(format string) (tmpl string, ok bool) {
	verbs, ok := scanVerbs(format)
	if !ok {
		return "", false
	}
	var b strings.Builder
	last := 0
	for i, v := range verbs {
		b.WriteString(strings.ReplaceAll(format[last:v.at], "%%", "%"))
		b.WriteString("{" + strconv.Itoa(i+1) + "}")
		last = v.at + len(v.spec)
	}
	b.WriteString(strings.ReplaceAll(format[last:], "%%", "%"))
	return b.String(), true
}

type verb struct {
	at   int    // byte offset of the %
	spec string // the whole verb, flags and width included ("%-8.2f")
	verb byte
}

// scanVerbs finds a format's verbs the way fmt reads them.
func scanVerbs(format string) ([]verb, bool) {
	var vs []verb
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("+-# 0", format[j]) >= 0 {
			j++
		}
		for j < len(format) && (format[j] >= '0' && format[j] <= '9' || format[j] == '.') {
			j++
		}
		if j >= len(format) || format[j] == '[' || format[j] == '*' {
			return nil, false
		}
		if format[j] == '%' && j == i+1 {
			i = j
			continue
		}
		vs = append(vs, verb{at: i, spec: format[i : j+1], verb: format[j]})
		i = j
	}
	return vs, true
}

// hasWords reports whether a format says anything besides its verbs.
func hasWords(format string, verbs []verb) bool {
	last := 0
	for _, v := range append(verbs, verb{at: len(format)}) {
		if strings.IndexFunc(format[last:v.at], unicode.IsLetter) >= 0 {
			return true
		}
		last = v.at + len(v.spec)
	}
	return false
}
