package allinone

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
	mgmt "github.com/conclave-rtc/conclave/management-api/server"
)

// superServiceFile is where the all-in-one binary keeps generated super service credentials.
const superServiceFile = "super-service.json"

type superService struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	File string `json:"-"`
}

// ensureSuperService makes sure the super service exists. Credentials come from the config
// (CONCLAVE_SUPER_SERVICE_ID/KEY) when set, else from <dataDir>/super-service.json, else they
// are generated on first start and written there with mode 0600.
func ensureSuperService(ctx context.Context, cfg config.Config, st store.Store) (superService, error) {
	s, err := superCredentials(cfg)
	if err != nil {
		return s, err
	}
	if _, _, err := mgmt.EnsureSuperService(ctx, st, s.ID, s.Key); err != nil {
		return s, fmt.Errorf("super service: %w", err)
	}
	return s, nil
}

func superCredentials(cfg config.Config) (superService, error) {
	path := filepath.Join(cfg.DataDir, superServiceFile)
	if cfg.SuperService.ID != "" {
		return superService{ID: cfg.SuperService.ID, Key: cfg.SuperService.Key, File: "configuration"}, nil
	}
	s := superService{File: path}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &s); err != nil || !ids.IsObjectID(s.ID) || s.Key == "" {
			return s, fmt.Errorf("%s is damaged; remove it to generate new super service credentials", path)
		}
		return s, nil
	case !errors.Is(err, fs.ErrNotExist):
		return s, fmt.Errorf("super service credentials: %w", err)
	}
	key := make([]byte, 64)
	if _, err := rand.Read(key); err != nil {
		return s, err
	}
	s.ID, s.Key = ids.ObjectID(), base64.StdEncoding.EncodeToString(key)
	b, err = json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return s, err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return s, fmt.Errorf("super service credentials: %w", err)
	}
	return s, nil
}
