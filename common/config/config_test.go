package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const samplePath = "../../config.sample.yaml"

func TestConfigSampleEqualsDefault(t *testing.T) {
	got, err := Load(samplePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("sample config differs from Default():\n got %+v\nwant %+v", got, want)
	}
}

func TestConfigSampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	collectKeys(root.Content[0], "", have)
	for _, key := range structKeys(reflect.TypeFor[Config](), "") {
		if !have[key] {
			t.Errorf("config.sample.yaml does not document %s", key)
		}
	}
	// Every environment variable is mentioned too.
	for _, name := range EnvVars() {
		if !strings.Contains(string(data), name) {
			t.Errorf("config.sample.yaml does not mention %s", name)
		}
	}
}

func collectKeys(n *yaml.Node, path string, into map[string]bool) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := join(path, n.Content[i].Value)
		into[key] = true
		collectKeys(n.Content[i+1], key, into)
	}
}

func structKeys(t reflect.Type, path string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		key := join(path, f.Tag.Get("yaml"))
		keys = append(keys, key)
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, structKeys(f.Type, key)...)
		}
	}
	return keys
}

func TestConfigDefaultIsValidAndFresh(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	a := Default()
	a.Cluster.Strategies["portal"] = "most-used"
	if Default().Cluster.Strategies["portal"] != "last-used" {
		t.Fatal("Default shares its strategies map")
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := t.TempDir() + "/conclave.yaml"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigLoadFile(t *testing.T) {
	path := writeConfig(t, `
dataDir: /var/lib/conclave
bus: {url: "amqp://guest:guest@127.0.0.1:5672/"}
store: {mongoURI: "mongodb://127.0.0.1:27017/"}
management: {replayWindow: 5m, rateLimit: 2.5}
portal: {isps: [isp1], regions: [eu, us], secure: true}
cluster:
  strategies: {portal: round-robin, management: weight-robin}
  heartbeat: 500ms
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/conclave" || !c.Distributed() || c.Management.ReplayWindow != 5*time.Minute ||
		c.Management.RateLimit != 2.5 || !c.Portal.Secure || len(c.Portal.Regions) != 2 {
		t.Fatalf("loaded %+v", c)
	}
	want := Default().Cluster.Strategies
	want["portal"], want["management"] = "round-robin", "weight-robin"
	if !reflect.DeepEqual(c.Cluster.Strategies, want) {
		t.Fatalf("strategies = %v, want defaults merged with the file: %v", c.Cluster.Strategies, want)
	}
	if c.Cluster.Expiry() != 1500*time.Millisecond {
		t.Fatalf("Expiry = %v", c.Cluster.Expiry())
	}
	if c.Management.CacheTTL != 5*time.Second { // untouched default
		t.Fatalf("cacheTTL = %v", c.Management.CacheTTL)
	}
}

func TestConfigLoadFileErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown top-level key", "dataDirr: x\n", `line 1: unknown key "dataDirr"`},
		{"unknown nested key", "bus:\n  prefix: a.\n  ulr: amqp://h/\n", `line 3: unknown key "bus.ulr"`},
		{"unknown deep key", "portal: {listen: ':1', tls: {cert: x}}\n", `unknown key "portal.tls"`},
		{"duration without unit", "shutdownTimeout: 20\n", `line 1: shutdownTimeout must be a duration such as "1s" or "500ms"`},
		{"bad duration", "cluster: {heartbeat: soon}\n", "line 1: cluster.heartbeat must be a duration"},
		{"wrong type", "management:\n  bodyLimit: lots\n", "line 2: management.bodyLimit must be an integer"},
		{"list for string", "dataDir: [a, b]\n", "line 1: dataDir must be a string"},
		{"string for list", "portal: {isps: a}\n", "line 1: portal.isps must be a list of strings"},
		{"scalar for section", "bus: amqp://h/\n", "line 1: bus must be a mapping"},
		{"list document", "- a\n", "the document must be a mapping"},
		{"not yaml", "dataDir: [\n", "yaml"},
		{"invalid value", "management: {listen: abc}\n", `management.listen: "abc" is not host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.text), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigLoadEmptyAndMissingFile(t *testing.T) {
	for _, text := range []string{"", "# nothing\n", "bus:\n  # url: amqp://h/\nportal:\n"} {
		c, err := Load(writeConfig(t, text), nil)
		if err != nil || !reflect.DeepEqual(c, Default()) {
			t.Fatalf("file %q: %+v, %v", text, c, err)
		}
	}
	if _, err := Load(t.TempDir()+"/missing.yaml", nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// envMap is an environment for Load that records which variables were read.
func envMap(vars map[string]string, read map[string]bool) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if read != nil {
			read[name] = true
		}
		v, ok := vars[name]
		return v, ok
	}
}

func TestConfigEnvOverrides(t *testing.T) {
	path := writeConfig(t, "dataDir: /from/file\nlog: {level: debug}\n")
	vars := map[string]string{
		"CONCLAVE_DATA_DIR":           "/from/env",
		"CONCLAVE_CLUSTER_KEY":        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"CONCLAVE_BUS_URL":            "amqps://u:p@127.0.0.1:5671/vh",
		"CONCLAVE_BUS_PREFIX":         "test_1.",
		"CONCLAVE_MONGO_URI":          "mongodb://127.0.0.1:27018/",
		"CONCLAVE_MONGO_DATABASE":     "conclave_test",
		"CONCLAVE_MANAGEMENT_LISTEN":  "127.0.0.1:0",
		"CONCLAVE_PORTAL_LISTEN":      "[::1]:8443",
		"CONCLAVE_PORTAL_PUBLIC_HOST": "rtc.example.org:443",
		"CONCLAVE_SUPER_SERVICE_ID":   "0123456789abcdef01234567",
		"CONCLAVE_SUPER_SERVICE_KEY":  "secret",
		"CONCLAVE_LOG_FORMAT":         "json",
		"CONCLAVE_UNRELATED":          "x",
	}
	read := map[string]bool{}
	c, err := Load(path, envMap(vars, read))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.DataDir = "/from/env"
	want.ClusterKey = vars["CONCLAVE_CLUSTER_KEY"]
	want.Bus = BusConfig{URL: vars["CONCLAVE_BUS_URL"], Prefix: "test_1."}
	want.Store = StoreConfig{MongoURI: vars["CONCLAVE_MONGO_URI"], MongoDatabase: "conclave_test"}
	want.Management.Listen = "127.0.0.1:0"
	want.Portal.Listen = "[::1]:8443"
	want.Portal.PublicHost = "rtc.example.org:443"
	want.SuperService = SuperServiceConfig{ID: "0123456789abcdef01234567", Key: "secret"}
	want.Log = LogConfig{Level: "debug", Format: "json"} // level from the file
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if len(read) != len(EnvVars()) || read["CONCLAVE_UNRELATED"] {
		t.Fatalf("read variables %v, want exactly %v", read, EnvVars())
	}
}

func TestConfigEnvEmptyOverrides(t *testing.T) {
	path := writeConfig(t, "bus: {url: 'amqp://127.0.0.1/'}\n")
	c, err := Load(path, envMap(map[string]string{"CONCLAVE_BUS_URL": ""}, nil))
	if err != nil || c.Bus.URL != "" {
		t.Fatalf("bus.url = %q, %v; want empty from the environment", c.Bus.URL, err)
	}
}

func TestConfigEnvMalformedNamesVariable(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"CONCLAVE_MANAGEMENT_LISTEN", "abc", `CONCLAVE_MANAGEMENT_LISTEN (management.listen): "abc" is not host:port`},
		{"CONCLAVE_BUS_URL", "http://127.0.0.1/", "CONCLAVE_BUS_URL (bus.url): must be a amqp:// or amqps:// URL with a host"},
		{"CONCLAVE_CLUSTER_KEY", "c2hvcnQ=", "CONCLAVE_CLUSTER_KEY (clusterKey): must be the base64 encoding of 32 bytes"},
		{"CONCLAVE_LOG_LEVEL", "loud", `CONCLAVE_LOG_LEVEL (log.level): "loud" is not one of debug, info, warn, error`},
		{"CONCLAVE_SUPER_SERVICE_ID", "xyz", "CONCLAVE_SUPER_SERVICE_ID (superService.id): must be 24 hex characters"},
		{"CONCLAVE_DATA_DIR", "", "CONCLAVE_DATA_DIR (dataDir): must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", envMap(map[string]string{tt.name: tt.value}, nil))
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Env != tt.name || err.Error() != tt.want {
				t.Fatalf("Load = %v, want %q", err, tt.want)
			}
		})
	}
}
