# Shared by the .ci scripts that start local processes: sourced, not run.
# Every process added to `pids` is stopped on exit, success or failure.
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for_port() { # port, what, log
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "error: $2 did not listen on port $1; its log:" >&2; tail -n 40 "$3" >&2; exit 1
}

start_moto() { # logs dir: moto's server on a free port, and the environment that reaches it
  local port; port=$(free_port)
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" > "$1/moto.log" 2>&1 &
  pids+=($!)
  wait_for_port "$port" "moto_server" "$1/moto.log"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=AKIDLOCAL AWS_SECRET_ACCESS_KEY=local-secret
}
