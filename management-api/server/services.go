package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

// SuperServiceName is the name OWT's initdb.js gives the super service.
const SuperServiceName = "superService"

// EnsureSuperService creates the super service with id and key if it does not exist. An
// existing service with that id is returned as is when its key matches, and reported with
// ErrSuperServiceKey otherwise (keys cannot be changed through the store).
func EnsureSuperService(ctx context.Context, st store.ServiceStore, id, key string) (store.Service, bool, error) {
	if !ids.IsObjectID(id) || key == "" {
		return store.Service{}, false, fmt.Errorf("%w: super service needs a 24-hex id and a key", ErrConfig)
	}
	s, err := st.GetService(ctx, id)
	if err == nil {
		if s.Key != key {
			return store.Service{}, false, ErrSuperServiceKey
		}
		return s, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Service{}, false, fmt.Errorf("management api: super service: %w", err)
	}
	s = store.Service{ID: id, Name: SuperServiceName, Key: key}
	err = st.CreateService(ctx, s)
	if errors.Is(err, store.ErrDuplicate) {
		// Created concurrently by another instance, or another service has the name.
		existing, gerr := st.GetService(ctx, id)
		if gerr != nil {
			return store.Service{}, false, fmt.Errorf("management api: create super service: %w", err)
		}
		if existing.Key != key {
			return store.Service{}, false, ErrSuperServiceKey
		}
		return existing, false, nil
	}
	if err != nil {
		return store.Service{}, false, fmt.Errorf("management api: create super service: %w", err)
	}
	s.Rooms = []string{}
	return s, true, nil
}
