#!/usr/bin/env python3
"""One row of scripts/soak's table, its header, or its verdicts.

  soak-sample.py header
  soak-sample.py LABEL PID METRICS_URL SERVER_LOG   one row (tab-separated values kept in a
                                                     hidden last column for the verdicts)
  soak-sample.py verdict ROWS_FILE
"""
import os
import sys
import urllib.request

COLUMNS = [  # key, title, kind: "bytes" compare within 20 %, "count" within 2
    ("rss", "RSS MiB", "bytes"),
    ("go_live", "Go heap live MiB", "bytes"),
    ("go_inuse", "Go heap in use MiB", None),
    ("go_idle", "Go heap idle MiB", None),
    ("go_released", "Go released MiB", None),
    ("c_inuse", "C heap in use MiB", "bytes"),
    ("c_free", "C heap free MiB", None),
    ("codecs", "codec contexts", "count"),
    ("goroutines", "goroutines", "count"),
    ("fds", "fds", "count"),
    ("sockets", "sockets", "count"),
    ("udp", "UDP sockets", "count"),
    ("threads", "threads", "count"),
    ("children", "child processes", "count"),
    ("rooms", "live rooms", "count"),
    ("warn", "WARN/ERROR lines", None),
]


def metrics(url):
    out = {}
    with urllib.request.urlopen(url, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if not line or line[0] == "#":
                continue
            name, _, value = line.rpartition(" ")
            base = name.split("{")[0]
            out[base] = out.get(base, 0.0) + float(value)
    return out


def inodes(pid, kind):
    """Socket inodes of the process, and those of them in /proc/PID/net/KIND."""
    socks = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            socks.add(link[8:-1])
    udp = 0
    for table in (kind, kind + "6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                udp += sum(1 for line in f if line.split()[9] in socks)
        except OSError:
            pass
    return len(socks), udp


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def children(pid):
    n = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == str(pid):
                        n += 1
            except OSError:
                pass
    return n


def warnings(log):
    n = 0
    with open(log, errors="replace") as f:
        for line in f:
            if "level=WARN" in line or "level=ERROR" in line or '"level":"WARN"' in line or '"level":"ERROR"' in line:
                n += 1
    return n


def row(label, pid, url, log):
    m = metrics(url)
    st = status(pid)
    socks, udp = inodes(pid, "udp")
    mib = lambda b: b / (1 << 20)
    v = {
        "rss": int(st["VmRSS"][0]) / 1024,
        "go_live": mib(m.get("go_memstats_heap_alloc_bytes", 0)),
        "go_inuse": mib(m.get("go_memstats_heap_inuse_bytes", 0)),
        "go_idle": mib(m.get("go_memstats_heap_idle_bytes", 0)),
        "go_released": mib(m.get("go_memstats_heap_released_bytes", 0)),
        "c_inuse": mib(m.get("conclave_c_heap_inuse_bytes", 0)),
        "c_free": mib(m.get("conclave_c_heap_free_bytes", 0)),
        "codecs": m.get("conclave_codec_contexts", 0),
        "goroutines": m.get("go_goroutines", 0),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "sockets": socks,
        "udp": udp,
        "threads": int(st["Threads"][0]),
        "children": children(pid),
        "rooms": m.get("conclave_conference_live_rooms", 0),
        "warn": warnings(log),
    }
    cells = [fmt(v[k]) for k, _, _ in COLUMNS]
    raw = ",".join("%s=%s" % (k, v[k]) for k, _, _ in COLUMNS)
    print("| %s | %s | <!-- %s -->" % (label, " | ".join(cells), raw))


def fmt(x):
    return "%.1f" % x if isinstance(x, float) and x != int(x) else "%d" % x


def parse(line):
    raw = line.rsplit("<!-- ", 1)[1].split(" -->")[0]
    return dict((k, float(v)) for k, v in (kv.split("=") for kv in raw.split(",")))


def verdict(path):
    lines = open(path).read().split("\n")
    mark = lines.index("baseline")
    base = parse(lines[mark - 1])  # after the warm-up, idle and a forced GC
    last = parse([l for l in lines if "<!--" in l][-1])  # after the churn, idle and a forced GC
    out, bad = [], False
    for k, title, kind in COLUMNS:
        if kind is None:
            continue
        b, a = base[k], last[k]
        ok = a <= max(b * 1.2, b + 1) if kind == "bytes" else a <= b + 2
        bad = bad or not ok
        out.append("%s %s (%s → %s)" % (title, "flat" if ok else "GROWING", fmt(b), fmt(a)))
    print()
    print("Verdict, end against baseline: " + "; ".join(out) + ".")
    print("WARN/ERROR lines in the server log: %d." % last["warn"])
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    if sys.argv[1] == "header":
        print("| when | " + " | ".join(t for _, t, _ in COLUMNS) + " |")
        print("|---" * (len(COLUMNS) + 1) + "|")
    elif sys.argv[1] == "verdict":
        verdict(sys.argv[2])
    else:
        row(*sys.argv[1:5])
