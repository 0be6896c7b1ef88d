package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load builds the configuration: Default, then the YAML file at path (if path is not
// empty), then the CONCLAVE_* variables that env reports as set (env may be nil; pass
// os.LookupEnv in main), then Validate. A variable set to the empty string overrides the
// file with the empty value.
func Load(path string, env func(string) (string, bool)) (Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := c.parseYAML(data); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if env != nil {
		if err := c.applyEnv(env); err != nil {
			return Config{}, err
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Parse applies a YAML document over c (no environment, no validation). Unknown keys are
// errors naming the key path.
func (c *Config) Parse(data []byte) error { return c.parseYAML(data) }

func (c *Config) parseYAML(data []byte) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return err
	}
	if len(root.Content) == 0 { // empty document
		return nil
	}
	if err := checkKeys(root.Content[0], reflect.TypeFor[Config](), ""); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// checkKeys reports the first key of node that has no field in struct type t, or whose
// value does not decode into its field, with the key's full path, so "bus.ulr" is named
// rather than just "ulr".
func checkKeys(node *yaml.Node, t reflect.Type, path string) error {
	if t.Kind() != reflect.Struct {
		return checkValue(node, t, path)
	}
	for node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	if node.Tag == "!!null" { // "bus:" with everything commented out
		return nil
	}
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s must be a mapping", node.Line, cmp.Or(path, "the document"))
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		field, ok := fieldByTag(t, key.Value)
		full := join(path, key.Value)
		if !ok {
			return fmt.Errorf("line %d: unknown key %q", key.Line, full)
		}
		if err := checkKeys(value, field.Type, full); err != nil {
			return err
		}
	}
	return nil
}

// checkValue reports a value that does not decode into type t.
func checkValue(node *yaml.Node, t reflect.Type, path string) error {
	if err := node.Decode(reflect.New(t).Interface()); err != nil {
		return fmt.Errorf("line %d: %s must be %s", node.Line, path, describe(t))
	}
	return nil
}

// describe names a setting's type for error messages.
func describe(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return `a duration such as "1s" or "500ms"`
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int64 || t.Kind() == reflect.Int:
		return "an integer"
	case t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice:
		return "a list of strings"
	case t.Kind() == reflect.Map:
		return "a mapping of strings"
	default:
		return "a string"
	}
}

// fieldByTag finds the field of t whose yaml tag name is name.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// envVar binds an environment variable to a string setting.
type envVar struct {
	name string
	key  string
	ptr  *string
}

// envVars lists every environment override, bound to c's fields.
func (c *Config) envVars() []envVar {
	return []envVar{
		{"CONCLAVE_DATA_DIR", "dataDir", &c.DataDir},
		{"CONCLAVE_CLUSTER_KEY", "clusterKey", &c.ClusterKey},
		{"CONCLAVE_BUS_URL", "bus.url", &c.Bus.URL},
		{"CONCLAVE_BUS_PREFIX", "bus.prefix", &c.Bus.Prefix},
		{"CONCLAVE_MONGO_URI", "store.mongoURI", &c.Store.MongoURI},
		{"CONCLAVE_MONGO_DATABASE", "store.mongoDatabase", &c.Store.MongoDatabase},
		{"CONCLAVE_MANAGEMENT_LISTEN", "management.listen", &c.Management.Listen},
		{"CONCLAVE_PORTAL_LISTEN", "portal.listen", &c.Portal.Listen},
		{"CONCLAVE_PORTAL_PUBLIC_HOST", "portal.publicHost", &c.Portal.PublicHost},
		{"CONCLAVE_TURN_LISTEN", "turn.listen", &c.TURN.Listen},
		{"CONCLAVE_TURN_HOST", "turn.host", &c.TURN.Host},
		{"CONCLAVE_TURN_SECRET", "turn.secret", &c.TURN.Secret},
		{"CONCLAVE_SUPER_SERVICE_ID", "superService.id", &c.SuperService.ID},
		{"CONCLAVE_SUPER_SERVICE_KEY", "superService.key", &c.SuperService.Key},
		{"CONCLAVE_LOG_LEVEL", "log.level", &c.Log.Level},
		{"CONCLAVE_LOG_FORMAT", "log.format", &c.Log.Format},
	}
}

// EnvVars returns the names of the environment variables Load reads.
func EnvVars() []string {
	var c Config
	var names []string
	for _, v := range c.envVars() {
		names = append(names, v.name)
	}
	return names
}

// applyEnv sets the variables env reports and checks each value, naming the variable if it
// is malformed.
func (c *Config) applyEnv(env func(string) (string, bool)) error {
	for _, v := range c.envVars() {
		value, ok := env(v.name)
		if !ok {
			continue
		}
		*v.ptr = value
		if err := c.checkKey(v.key); err != nil {
			err.Env = v.name
			return err
		}
	}
	return nil
}
