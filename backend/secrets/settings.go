package secrets

import (
	"errors"
	"fmt"
	"log"
	"net/textproto"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
)

// The functions here change the settings in f and the secrets in st
// together: a header's name or a key's file name goes in the settings,
// its value in st. Each returns the settings saved, or those kept and
// why nothing changed; the caller has the engine dial again when a save
// changed how the server is dialled (config.DialChanged).

// SaveSettings checks and saves s. The client key is not set here (see
// SetClientKey), but removing the certificate removes its key, and a new
// certificate must fit the key kept.
func SaveSettings(f *config.File, st Store, s config.Settings) (config.Settings, error) {
	old := f.Get()
	s.ClientKey, s.KeyFile = old.ClientKey, old.KeyFile
	s.CertFile = strings.TrimSpace(s.CertFile)
	switch {
	case s.CertFile == "" && (old.ClientKey != "" || old.KeyFile != ""):
		if err := Delete(st, ClientKey); err != nil {
			return old, fmt.Errorf("removing the client key from the keyring: %w", err)
		}
		s.ClientKey, s.KeyFile = "", ""
	case s.CertFile != old.CertFile && s.ClientKey != "":
		if err := checkKeptKey(st, s.CertFile); err != nil {
			return old, err
		}
	}
	return f.Set(s)
}

// HeaderKey is where the value of the header name is kept.
func HeaderKey(name string) string { return "header:" + strings.ToLower(name) }

// SplitList splits a comma-separated list (the settings' header names, a
// server's addresses), trimmed, without blanks or repeats.
func SplitList(list string) []string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// SetHeader adds an extra header sent with every request, or with an
// empty value removes it. Its name goes in the settings, its value in
// st, never in the settings file or the log.
func SetHeader(f *config.File, st Store, name, value string) (config.Settings, error) {
	name = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
	if name == "" || strings.ContainsAny(name, " :\t\r\n") {
		return f.Get(), fmt.Errorf("%q is not a header name: use letters, digits and dashes, such as Authorization", name)
	}
	s := f.Get()
	names := SplitList(s.HeaderNames)
	if value == "" {
		if err := st.Delete(HeaderKey(name)); err != nil {
			return s, fmt.Errorf("removing the header from the keyring: %w", err)
		}
		names = slices.DeleteFunc(names, func(n string) bool { return strings.EqualFold(n, name) })
	} else {
		if err := st.Set(HeaderKey(name), value); err != nil {
			return s, fmt.Errorf("keeping the header in the keyring: %w", err)
		}
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) }) {
			names = append(names, name)
		}
	}
	s.HeaderNames = strings.Join(names, ",")
	return f.Set(s)
}

// SetClientKey takes the client certificate certFile and its private key
// from keyFile for mutual TLS: it checks that they belong together, keeps
// the key in st and the certificate's path in the settings, with only the
// key file's name, for display. The key file is left as it is and not
// read again. Keys protected by a passphrase are refused.
func SetClientKey(f *config.File, st Store, certFile, keyFile string) (config.Settings, error) {
	certFile, keyFile = strings.TrimSpace(certFile), strings.TrimSpace(keyFile)
	switch {
	case certFile == "":
		return f.Get(), errors.New("choose the client certificate first, then its key")
	case keyFile == "":
		return f.Get(), errors.New("choose the client key file")
	}
	keyPEM, err := ReadClientKey(certFile, keyFile)
	if err != nil {
		return f.Get(), err
	}
	if err := Put(st, ClientKey, string(keyPEM)); err != nil {
		return f.Get(), fmt.Errorf("keeping the client key in the keyring: %w", err)
	}
	s := f.Get()
	s.CertFile, s.ClientKey, s.KeyFile = certFile, filepath.Base(keyFile), ""
	return f.Set(s)
}

// RemoveClientCert stops sending a client certificate: its path leaves
// the settings and its key st.
func RemoveClientCert(f *config.File, st Store) (config.Settings, error) {
	s := f.Get()
	if err := Delete(st, ClientKey); err != nil {
		return s, fmt.Errorf("removing the client key from the keyring: %w", err)
	}
	s.CertFile, s.ClientKey, s.KeyFile = "", "", ""
	return f.Set(s)
}

// MigrateKeyFile moves the client key an older version named by its path
// (KeyFile) into st and clears the path; the app runs it once at start,
// before the window opens (nothing else sets KeyFile: SetClientKey keeps
// keys in st). The file itself is left as it is. Where st is Forgetful it
// changes nothing: the file keeps working, where moving the key would
// lose it at the next start. A key that cannot be moved stays in use from
// its file. What happened goes to the log, never the key.
func MigrateKeyFile(f *config.File, st Store) {
	s := f.Get()
	if s.KeyFile == "" || Forgetful(st) {
		return
	}
	keyPEM, err := ReadClientKey(s.CertFile, s.KeyFile)
	if err == nil {
		err = Put(st, ClientKey, string(keyPEM))
	}
	if err != nil {
		log.Printf("the client key file %s was not moved into the keyring and is still used from there: %s", s.KeyFile, apperr.Message(err))
		return
	}
	path := s.KeyFile
	s.ClientKey, s.KeyFile = filepath.Base(path), ""
	if _, err := f.Set(s); err != nil {
		log.Printf("the client key file %s was not moved into the keyring and is still used from there: %v", path, err)
		return
	}
	log.Printf("the client key from %s is now kept in the system keyring and the settings no longer name the file (which was left as it was)", path)
}
