// Package openapi holds the OpenAPI 3.1 description of the management API (openapi.yaml, kept
// beside this file) and turns it into the JSON document served at GET /v1/openapi.json.
//
// The YAML file describes each room route once, under /v1; a path item marked
// "x-conclave-v1.1: true" is served under /v1.1 as well (OWT's alias), so JSON adds a copy of it
// there whose operationIds end in "-v1.1". Package check validates traffic against the result.
package openapi

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var source []byte

// AliasKey marks a /v1 path item that is also served under /v1.1.
const AliasKey = "x-conclave-v1.1"

// Path is where the management API serves the description.
const Path = "/v1/openapi.json"

var errShape = errors.New("openapi: unexpected document shape")

// YAML returns the description as written.
func YAML() []byte { return source }

// JSON converts the description to JSON and adds the /v1.1 copies of the aliased paths.
func JSON() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(source, &doc); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: no paths", errShape)
	}
	for p, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: path %s", errShape, p)
		}
		if item[AliasKey] != true {
			continue
		}
		if !strings.HasPrefix(p, "/v1/") {
			return nil, fmt.Errorf("%w: %s is marked %s but is not under /v1/", errShape, p, AliasKey)
		}
		alias, err := aliasItem(item)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errShape, p, err)
		}
		paths["/v1.1/"+strings.TrimPrefix(p, "/v1/")] = alias
	}
	return json.Marshal(doc)
}

// aliasItem deep-copies a path item (through JSON) and suffixes its operationIds.
func aliasItem(item map[string]any) (map[string]any, error) {
	data, err := json.Marshal(item)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	delete(out, AliasKey)
	for _, v := range out {
		if op, ok := v.(map[string]any); ok {
			if id, ok := op["operationId"].(string); ok {
				op["operationId"] = id + "-v1.1"
			}
		}
	}
	return out, nil
}
