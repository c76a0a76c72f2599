// Package hoststeal measures the share of CPU time a virtual machine's
// host took from it (the "steal" column of Linux's /proc/stat) while a
// benchmark ran. On a shared host it swings from nothing to a third of
// the time within minutes, and a ratio measured while it was high says
// more about the neighbours than about the code, so the benchmarks print
// it beside each figure.
package hoststeal

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Sample is the machine's CPU time counters at one moment.
type Sample struct {
	steal, total uint64
	ok           bool
}

// Now reads the counters; on systems without /proc/stat the Sample is
// empty and Since reports nothing.
func Now() Sample {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return Sample{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return Sample{}
	}
	return parse(sc.Text())
}

// parse reads the first line of /proc/stat: "cpu  user nice system idle
// iowait irq softirq steal guest guest_nice" in clock ticks (guest time
// is already counted in user and nice).
func parse(line string) Sample {
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return Sample{}
	}
	var s Sample
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return Sample{}
		}
		s.total += v
		if i == 7 {
			s.steal = v
		}
	}
	s.ok = true
	return s
}

// Since is the share of CPU time stolen between b and a, in [0, 1];
// ok is false when it was not measured.
func (a Sample) Since(b Sample) (share float64, ok bool) {
	if !a.ok || !b.ok || a.total <= b.total {
		return 0, false
	}
	return float64(a.steal-b.steal) / float64(a.total-b.total), true
}

// Note is Since as the text the benchmarks print: "; host steal 3%", or
// "" where it is not measured.
func (a Sample) Note(b Sample) string {
	share, ok := a.Since(b)
	if !ok {
		return ""
	}
	return fmt.Sprintf("; host steal %.0f%%", 100*share)
}
