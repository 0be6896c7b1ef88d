package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RESTConfig is a run of `conclave load rest`: one signed request repeated by Connections
// clients for Duration, each request signed afresh (the management API accepts a signature
// once), with the server's CPU measured when ServerPID is given.
type RESTConfig struct {
	API, ServiceID, Key string
	Method, Path        string
	Body                string
	Connections         int
	Duration            time.Duration
	ServerPID           int
}

// RESTResult is what a REST run measured.
type RESTResult struct {
	Requests      int64   `json:"requests"`
	Errors        int64   `json:"errors"` // non-2xx answers and transport failures
	PerSecond     float64 `json:"requestsPerSecond"`
	ServerCPU     float64 `json:"serverCpuSeconds"`
	PerCPUSecond  float64 `json:"requestsPerServerCpuSecond"`
	CPUPerRequest float64 `json:"serverCpuMicrosPerRequest"`
	MeanBytes     float64 `json:"meanResponseBytes"`
	FirstError    string  `json:"firstError,omitempty"`
}

// ParseRESTFlags parses `conclave load rest [flags] METHOD PATH [BODY]`.
func ParseRESTFlags(args []string, stderr io.Writer) (RESTConfig, error) {
	c := RESTConfig{Connections: 32, Duration: 10 * time.Second}
	fs := flag.NewFlagSet("conclave load rest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var data string
	fs.StringVar(&c.API, "api", "http://127.0.0.1:3000", "management API URL")
	fs.StringVar(&c.ServiceID, "service", "", "service id for MAuth")
	fs.StringVar(&c.Key, "key", "", "service key for MAuth")
	fs.StringVar(&data, "data", "", "read -service and -key from `DIR`/super-service.json")
	fs.IntVar(&c.Connections, "c", c.Connections, "concurrent clients")
	fs.DurationVar(&c.Duration, "d", c.Duration, "duration")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process id: report its CPU (same machine only)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: conclave load rest [flags] METHOD PATH [JSON-BODY]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		fs.Usage()
		return c, fmt.Errorf("%w: METHOD and PATH are required", ErrUsage)
	}
	c.Method, c.Path = strings.ToUpper(fs.Arg(0)), fs.Arg(1)
	if fs.NArg() == 3 {
		c.Body = fs.Arg(2)
	}
	if data != "" && c.ServiceID == "" {
		id, key, err := ReadSuperService(data)
		if err != nil {
			return c, err
		}
		c.ServiceID, c.Key = id, key
	}
	if c.ServiceID == "" || c.Key == "" || c.Connections < 1 || c.Duration <= 0 {
		return c, fmt.Errorf("%w: -service and -key (or -data), -c ≥ 1 and -d > 0 are required", ErrUsage)
	}
	return c, nil
}

// RunREST runs the requests and measures them.
func RunREST(ctx context.Context, c RESTConfig) (RESTResult, error) {
	api := NewAPI(c.API, c.ServiceID, c.Key)
	api.http.Transport.(*http.Transport).MaxIdleConnsPerHost = c.Connections
	pid, ticks := strconv.Itoa(c.ServerPID), clockTicks()
	var before, after time.Duration
	var err error
	if c.ServerPID > 0 {
		if before, err = procCPU(pid, ticks); err != nil {
			return RESTResult{}, err
		}
	}
	var res RESTResult
	var bytesTotal atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	begin := time.Now()
	var wg sync.WaitGroup
	for range c.Connections {
		wg.Go(func() {
			for ctx.Err() == nil {
				n, err := restOnce(ctx, api, c)
				if ctx.Err() != nil {
					return
				}
				atomic.AddInt64(&res.Requests, 1)
				bytesTotal.Add(int64(n))
				if err != nil {
					atomic.AddInt64(&res.Errors, 1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin).Seconds()
	if c.ServerPID > 0 {
		if after, err = procCPU(pid, ticks); err != nil {
			return RESTResult{}, err
		}
		res.ServerCPU = (after - before).Seconds()
	}
	res.PerSecond = float64(res.Requests) / elapsed
	if res.Requests > 0 {
		res.MeanBytes = float64(bytesTotal.Load()) / float64(res.Requests)
	}
	if res.ServerCPU > 0 {
		res.PerCPUSecond = float64(res.Requests) / res.ServerCPU
		res.CPUPerRequest = res.ServerCPU / float64(res.Requests) * 1e6
	}
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	return res, nil
}

// restOnce sends one freshly signed request and reads the answer.
func restOnce(ctx context.Context, api *API, c RESTConfig) (int, error) {
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, api.base+c.Path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", api.authorization())
	req.Header.Set("Content-Type", "application/json")
	resp, err := api.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return int(n), err
	}
	if resp.StatusCode/100 != 2 {
		return int(n), fmt.Errorf("%s %s: %d %.200s", c.Method, c.Path, resp.StatusCode, buf.Bytes())
	}
	return int(n), nil
}

// PrintREST writes the result as one JSON line.
func PrintREST(w io.Writer, r RESTResult) error {
	if r.Requests == 0 {
		return errors.New("no request completed")
	}
	return json.NewEncoder(w).Encode(r)
}
