// Command stagebench stages one file with backend/staging, as the app
// does, and prints the elapsed time and the hash. bench/staging/run.sh
// times it against standard tools doing the same work.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
)

func main() {
	src := flag.String("src", "", "file to stage")
	cache := flag.String("cache", "", "cache folder")
	flag.Parse()
	if *src == "" || *cache == "" {
		fmt.Fprintln(os.Stderr, "usage: stagebench -src FILE -cache DIR")
		os.Exit(2)
	}
	start := time.Now()
	st, err := staging.Stage(context.Background(), *src, *cache, staging.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s %d %.3f\n", st.SHA256, st.Size, time.Since(start).Seconds())
}
