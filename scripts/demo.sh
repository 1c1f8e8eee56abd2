#!/usr/bin/env bash
# Brings up the whole mutuo system on this machine: Mosquitto with mutuo's
# config, the receiver, the tracker, the dashboard and three agents probing each
# other on 127.0.0.1. Prints the dashboard URL and runs until Ctrl-C, then stops
# everything it started. Safe to run twice: each run starts from a fresh state
# in .run/demo/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/install-deps.sh" run
"$repo/scripts/build.sh"
bin=${MUTUO_BUILD_DIR:-$repo/build}
run=$repo/.run/demo
broker_tool=$repo/broker-config/mutuo-broker

pids=()
cleanup() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo; echo "demo: stopping ${#pids[@]} processes"
    # Reverse order, each before the next: agents say goodbye while the broker is up.
    for ((i=${#pids[@]}-1; i>=0; i--)); do
      local p=${pids[i]}
      kill -TERM "$p" 2>/dev/null || continue
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
    done
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {  # start NAME CMD... : runs in the background, logs to $run/NAME.log
  local name=$1; shift
  # Its own session, so Ctrl-C reaches only this script, which then stops the
  # programs in reverse order (agents first, the broker last).
  setsid "$@" > "$run/$name.log" 2>&1 < /dev/null &
  pids+=($!)
}

wait_tcp() {  # wait_tcp PORT WHAT
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: $2 did not start listening on port $1; see $run/" >&2
  exit 1
}

rm -rf "$run"
mkdir -p "$run"
mqtt_port=$("$repo/scripts/free-port.py" tcp 18830)
http_port=$("$repo/scripts/free-port.py" tcp 8470)

"$broker_tool" init "$run/broker" --port "$mqtt_port" > /dev/null
start mosquitto mosquitto -c "$run/broker/mosquitto.conf"
wait_tcp "$mqtt_port" "mosquitto"
for s in receiver tracker dashboard; do "$broker_tool" add-service "$run/broker" "$s" > /dev/null; done
broker=tcp://127.0.0.1:$mqtt_port
secrets=$run/broker/secrets

start receiver "$bin/receiver/mutuo-receiver" --broker "$broker" --token-file "$secrets/receiver.token" \
  --store "$run/store" --stats-every-s 30
start tracker "$bin/tracker/mutuo-tracker" --broker "$broker" --token-file "$secrets/tracker.token" \
  --interval-s 5
# The first admin gets a fresh random password, printed once below (never a default).
admin_password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
MUTUO_ADMIN_PASSWORD=$admin_password start dashboard "$bin/dashboard/mutuo-dashboard" --broker "$broker" \
  --token-file "$secrets/dashboard.token" --store "$run/store" --data-dir "$run/dashboard-data" \
  --listen "127.0.0.1:$http_port"
echo_port=7771
for agent in alpha bravo charlie; do
  "$broker_tool" add-agent "$run/broker" "$agent" > /dev/null
  port=$("$repo/scripts/free-port.py" udp "$echo_port")
  start "$agent" "$bin/agent/mutuo-agent" --id "$agent" --broker "$broker" \
    --token-file "$secrets/$agent.token" --echo-port "$port" --echo-bind 127.0.0.1 \
    --advertise 127.0.0.1 --label site=local --label provider="demo-$agent"
  echo_port=$((port + 1))
done
wait_tcp "$http_port" "dashboard"

cat <<MSG

mutuo is running: broker, receiver, tracker, dashboard and agents alpha, bravo, charlie.
  dashboard:  http://127.0.0.1:$http_port
              log in as admin with password $admin_password (shown only now)
  MQTT:       $broker  (accounts and tokens in $secrets/)
  logs:       $run/*.log
Press Ctrl-C to stop everything.
MSG

while true; do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[i]}" 2>/dev/null; then
      echo "demo: a process (pid ${pids[i]}) exited; see the logs in $run/" >&2
      exit 1
    fi
  done
  sleep 1
done
