package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// keyFileMode is the mode of a key file LoadOrCreate writes; it also refuses to read any file
// with group or other permission bits.
const keyFileMode = 0o600

// LoadOrCreate returns the key stored at path, or on first start generates one and writes it
// there (base64 text, mode 0600, parent directories 0700). It refuses a file whose permissions
// allow group or other access, and one that does not hold exactly one base64 key.
//
// Creation is atomic: the key is written to a temporary file and hard-linked into place, so a
// concurrent starter or a crash never leaves a partial key file, and when two processes race
// both end up with the key that won.
func LoadOrCreate(path string) (Key, error) {
	k, err := load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := create(path); err != nil {
		return Key{}, err
	}
	return load(path)
}

func load(path string) (Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Key{}, fmt.Errorf("secret: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Key{}, fmt.Errorf("%w: %s is not a regular file", ErrBadKey, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return Key{}, fmt.Errorf("%w: %s has mode %04o, want 0600 (chmod 600 %s)",
			ErrKeyFilePerm, path, perm, path)
	}
	if fi.Size() > 1024 {
		return Key{}, fmt.Errorf("%w: %s is %d bytes, want one base64 key", ErrBadKey, path, fi.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("secret: key file: %w", err)
	}
	k, err := Parse(string(data))
	if err != nil {
		return Key{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

func create(path string) error {
	k, err := Generate()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret: key dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".cluster-key-*")
	if err != nil {
		return fmt.Errorf("secret: write key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeKey(tmp, k); err != nil {
		return fmt.Errorf("secret: write key file: %w", err)
	}
	// Link fails if another process created the file first; its key then wins.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("secret: write key file: %w", err)
	}
	return nil
}

func writeKey(f *os.File, k Key) error {
	err := f.Chmod(keyFileMode)
	if err == nil {
		_, err = f.WriteString(k.Base64() + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
