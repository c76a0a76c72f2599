//go:build !unix && !windows

package cache

import "errors"

func freeSpace(string) (uint64, error) { return 0, errors.ErrUnsupported }
