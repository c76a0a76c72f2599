package hoststeal

import "testing"

func TestSince(t *testing.T) {
	before := parse("cpu  100 0 50 800 10 0 5 35 7 0")
	after := parse("cpu  200 0 70 900 10 0 5 85 9 0")
	if !before.ok || before.total != 1000 || before.steal != 35 {
		t.Fatalf("parse: %+v", before)
	}
	// 270 ticks went by, 50 of them stolen.
	if got, ok := after.Since(before); !ok || got != 50.0/270 {
		t.Errorf("Since = %v, %v; want 50/270", got, ok)
	}
	if got := after.Note(before); got != "; host steal 19%" {
		t.Errorf("Note = %q", got)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 3", "cpu a b c d e f g h"} {
		if s := parse(bad); s.ok {
			t.Errorf("parse(%q) = %+v, want nothing", bad, s)
		}
	}
	if _, ok := (Sample{}).Since(before); ok {
		t.Error("an empty sample measured something")
	}
	if now := Now(); now.ok && now.total == 0 {
		t.Errorf("Now read a /proc/stat with no time: %+v", now)
	}
}
