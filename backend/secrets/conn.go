package secrets

import (
	"fmt"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
)

// Config is how to reach addr (one or more addresses, comma separated)
// under the settings s, with the client key and the header values read
// from st.
func Config(s config.Settings, st Store, addr string) (inference.Config, error) {
	cfg := inference.Config{
		Addresses: SplitList(addr),
		TLS:       inference.TLSConfig{Enabled: s.TLS, CAFile: s.CAFile, CertFile: s.CertFile, KeyFile: s.KeyFile, ServerName: s.ServerName},
		Retry:     inference.DefaultRetryPolicy(),
	}
	if s.ClientKey != "" {
		key, err := Get(st, ClientKey)
		if err != nil {
			return cfg, fmt.Errorf("reading the client key from the keyring: %w", err)
		}
		if key == "" {
			return cfg, apperr.New(apperr.CodeTLS, nil, "the client key (%s) is not in the keyring: choose the key file again in Settings", s.ClientKey)
		}
		cfg.TLS.KeyPEM = []byte(key)
	}
	for _, n := range SplitList(s.HeaderNames) {
		v, err := st.Get(HeaderKey(n))
		if err != nil {
			return cfg, fmt.Errorf("reading the header %s from the keyring: %w", n, err)
		}
		if v != "" {
			if cfg.Headers == nil {
				cfg.Headers = map[string]string{}
			}
			cfg.Headers[n] = v
		}
	}
	return cfg, nil
}
