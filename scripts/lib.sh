# Shared helpers for scripts/test, scripts/bench and scripts/soak. Source it; do not run it.
# Servers started here listen on 127.0.0.1 only and keep their state under $CONCLAVE_SCRATCH.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_port PORT SECONDS: poll until something accepts TCP on 127.0.0.1:PORT.
wait_port() {
	local port=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# mauth KEY SERVICE: a freshly signed OWT MAuth header (good for one request: the management
# API accepts each signature once).
mauth() {
	local key=$1 id=$2 ts cn sig
	ts=$(date +%s%3N)
	cn=$RANDOM$RANDOM
	sig=$(printf '%s' "$ts,$cn" | openssl dgst -sha256 -hmac "$key" | awk '{print $NF}' | tr -d '\n' | base64 -w0)
	echo "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=$id,mauth_cnonce=$cn,mauth_timestamp=$ts,mauth_signature=$sig"
}

# apt_install PKG...: installs the Debian packages that are missing (one apt-get update first).
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The C libraries the mixing agent's codecs link against (cgo): libvpx (VP8/VP9), libx264,
# libavcodec (H.264 decoding), libswscale and libopus, found through pkg-config.
CODEC_PACKAGES=(gcc pkg-config libvpx-dev libopus-dev libx264-dev libavcodec-dev libswscale-dev)

# start_rabbitmq DIR PORT: an isolated RabbitMQ node (own HOME, cookie, mnesia, node name and
# config file) on 127.0.0.1:PORT. The node reads only its own files: a machine-wide
# /etc/rabbitmq/rabbitmq.conf that pins listeners.tcp.* (or an env file naming another node)
# would otherwise override the port given here.
start_rabbitmq() {
	local dir=$1 port=$2
	mkdir -p "$dir"
	echo "rabbit$port@localhost" >"$dir/nodename"
	printf 'listeners.tcp.default = 127.0.0.1:%s\n' "$port" >"$dir/rabbitmq.conf"
	: >"$dir/rabbitmq-env.conf"
	(
		export HOME=$dir RABBITMQ_NODENAME=rabbit$port@localhost
		export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
		export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port
		export ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_DIST_PORT=$((port + 20000))
		export RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log
		export RABBITMQ_PID_FILE=$dir/rabbit.pid RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
		export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
		echo '[].' >"$dir/enabled_plugins"
		exec /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/stdout.log" 2>&1
	) &
	echo $! >"$dir/launcher.pid"
	wait_port "$port" 60 || { tail -n 30 "$dir/stdout.log" >&2; die "RabbitMQ did not start"; }
}

# stop_rabbitmq DIR: stops the node start_rabbitmq started in DIR (and only that node).
stop_rabbitmq() {
	local dir=$1 node
	[ -f "$dir/rabbit.pid" ] || return 0
	node=$(cat "$dir/nodename" 2>/dev/null || echo rabbit@localhost)
	HOME=$dir ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf \
		timeout 30 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$node" stop "$dir/rabbit.pid" >/dev/null 2>&1 ||
		kill "$(cat "$dir/launcher.pid")" 2>/dev/null || true
}

# build_ferretserver OUT: the MongoDB-wire test server (FerretDB embedded, SQLite backend).
build_ferretserver() {
	local out=$1 root
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	[ -x "$out" ] && [ "$out" -nt "$root/scripts/ferretserver/main.go" ] && return 0
	log "building the FerretDB test server (first build takes ~2 min)"
	(cd "$root/scripts/ferretserver" && GOWORK=off go build -trimpath -o "$out" .)
}

# start_ferretserver BIN DIR PORT
start_ferretserver() {
	local bin=$1 dir=$2 port=$3
	mkdir -p "$dir"
	"$bin" -listen "127.0.0.1:$port" -dir "$dir" -log error >"$dir/stdout.log" 2>&1 &
	echo $! >"$dir/ferret.pid"
	wait_port "$port" 30 || { tail -n 30 "$dir/stdout.log" >&2; die "FerretDB test server did not start"; }
}

stop_ferretserver() {
	local dir=$1
	[ -f "$dir/ferret.pid" ] && kill "$(cat "$dir/ferret.pid")" 2>/dev/null || true
}

# download_modules: fetches every module the workspace and the FerretDB test server need, up
# front and quietly (go mod download prints only errors), so that builds print no
# "go: downloading" lines.
download_modules() {
	local root m
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	for m in $(modules); do
		(cd "$root/$m" && go mod download) || return 1
	done
	(cd "$root/scripts/ferretserver" && GOWORK=off go mod download)
}

# modules: every Go module of the workspace, one directory per line.
modules() {
	local root
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	(cd "$root" && go work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p')
}

# phase NAME: ends the current phase of the run (if any) and starts timing NAME. The times go
# to $CONCLAVE_PHASES (exported, so they survive the exec into the test namespace); phase_summary
# prints them. Without CONCLAVE_PHASES set, phases are only logged.
phase() {
	local now
	now=$(date +%s)
	if [ -n "${CONCLAVE_PHASES:-}" ] && [ -n "${CONCLAVE_PHASE:-}" ]; then
		printf '%s\t%s\n' "$((now - CONCLAVE_PHASE_START))" "$CONCLAVE_PHASE" >>"$CONCLAVE_PHASES"
	fi
	export CONCLAVE_PHASE=$1 CONCLAVE_PHASE_START=$now
	[ -z "$1" ] || log "$1"
}

# phase_summary: ends the current phase and prints every phase's duration and the total.
phase_summary() {
	phase ""
	[ -s "${CONCLAVE_PHASES:-}" ] || return 0
	{
		echo "time per phase:"
		awk -F '\t' '{ printf "  %5d s  %s\n", $1, $2; total += $1 } END { printf "  %5d s  total (%d min %d s)\n", total, total / 60, total % 60 }' "$CONCLAVE_PHASES"
	} >&2
}
