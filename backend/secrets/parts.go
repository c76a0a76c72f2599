package secrets

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// partSize is the most one keyring entry is given: Windows' Credential
// Manager takes at most 2560 bytes and macOS's security tool not much
// more, and an RSA-4096 key in PEM is about 3.2 KB. Longer secrets are
// kept in parts: key, key#2, key#3, …
const partSize = 2000

// maxParts bounds a secret to about 32 KB.
const maxParts = 16

func partKey(key string, i int) string {
	if i == 1 {
		return key
	}
	return key + "#" + strconv.Itoa(i)
}

// Put keeps value under key in st, in parts when it is long.
func Put(st Store, key, value string) error {
	n := (len(value) + partSize - 1) / partSize
	if n > maxParts {
		return fmt.Errorf("%d bytes is more than the keyring is given (%d)", len(value), maxParts*partSize)
	}
	for i := 1; i <= n; i++ {
		if err := st.Set(partKey(key, i), value[(i-1)*partSize:min(i*partSize, len(value))]); err != nil {
			return err
		}
	}
	// Parts of a longer secret kept before would be read as part of this.
	for i := n + 1; i <= maxParts; i++ {
		if err := st.Delete(partKey(key, i)); err != nil {
			return err
		}
	}
	return nil
}

// Get reads a secret Put kept; "" when there is none.
func Get(st Store, key string) (string, error) {
	var b strings.Builder
	for i := 1; i <= maxParts; i++ {
		v, err := st.Get(partKey(key, i))
		if err != nil {
			return "", err
		}
		if v == "" {
			break
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// Delete removes a secret Put kept, every part of it.
func Delete(st Store, key string) error {
	var errs []error
	for i := 1; i <= maxParts; i++ {
		errs = append(errs, st.Delete(partKey(key, i)))
	}
	return errors.Join(errs...)
}
