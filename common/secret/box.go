package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// sealPrefix marks the format of a sealed text: version 1 is AES-256-GCM with a random 96-bit
// nonce, encoded as unpadded base64url of nonce || ciphertext || tag.
const sealPrefix = "v1:"

// maxSealedLen bounds what Open decodes, so hostile input cannot make it allocate much.
const maxSealedLen = 1 << 20

// Box seals and opens small values with AES-256-GCM. It is safe for concurrent use.
//
// Nonces are random, so one key should seal well under 2^32 values (NIST SP 800-38D); derive a
// key per purpose with Key.Derive to keep each key's count small.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box that uses k directly as its AES-256 key. Pass a derived key
// (k.Derive(purpose)), not the cluster key itself.
func NewBox(k Key) (*Box, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("%w: all zeros", ErrBadKey)
	}
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("secret: new cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: new gcm: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext and authenticates it together with additionalData, returning the
// text form "v1:<base64url>". Open needs the same additionalData: bind a ciphertext to the
// record it belongs to (for example a service id) so it cannot be moved to another record.
func (b *Box) Seal(plaintext, additionalData []byte) (string, error) {
	ns := b.aead.NonceSize()
	buf := make([]byte, ns, ns+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("secret: nonce: %w", err)
	}
	buf = b.aead.Seal(buf, buf[:ns], plaintext, additionalData)
	return sealPrefix + base64.RawURLEncoding.EncodeToString(buf), nil
}

// Open decrypts a text made by Seal with the same key and additionalData. It returns
// ErrMalformed for text that is not a sealed value and ErrDecrypt when authentication fails.
func (b *Box) Open(text string, additionalData []byte) ([]byte, error) {
	enc, ok := strings.CutPrefix(text, sealPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: unknown version", ErrMalformed)
	}
	if len(enc) > maxSealedLen {
		return nil, fmt.Errorf("%w: too long", ErrMalformed)
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	ns := b.aead.NonceSize()
	if len(raw) < ns+b.aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrMalformed)
	}
	plain, err := b.aead.Open(nil, raw[:ns], raw[ns:], additionalData)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}
