#!/usr/bin/env bash
# Lints everything under deploy/, monitoring/ and the compose files, without a Docker engine
# and without pulling any image. Exit status 0 only if every check passes.
#
#   scripts/check-deploy.sh
#
# Installs what it needs from Debian when missing (idempotent; needs root the first time):
#   - prometheus      for promtool: check config / check rules / test rules
#   - docker-compose  for `docker-compose config -q` (1.29; validates Compose files offline)
#   - python3-yaml    for structural checks of the rendered Compose files and collector config
#   - caddy           for `caddy adapt` of deploy/caddy/Caddyfile
#   - shellcheck      for the shell scripts
#
# Checks:
#   shell        shellcheck of this script and the scripts in deploy/
#   prometheus   promtool check config monitoring/prometheus.yml (rule_files must resolve)
#   alerts       promtool check rules monitoring/alerts.yml
#   alert-tests  promtool test rules monitoring/alerts.test.yml
#   dashboards   monitoring/lint-dashboards.py: JSON, uid/title, unique panel ids, every expr
#                parsed by promtool, known metric names (dashboards and alert files)
#   compose-dev  docker-compose -f compose.yaml config -q, plus: host ports on 127.0.0.1 only,
#                Docker socket only in session-manager and file-service, RC_* keys exist in the config schema
#   compose-prod compose.prod.yaml with generated throw-away secrets (gen-secrets.sh), plain and
#                --compatibility, plus: only caddy publishes ports (80/443), only the socket
#                proxy mounts the Docker socket and only session-manager and file-service share its network,
#                no secret in plain environment variables, every secret file exists
#   caddy        caddy adapt of the Caddyfile for TLS_MODE acme, internal (also --validate) and files
#   otel         collector pipelines reference defined receivers/processors/exporters
#   dockerfile   stage references, required build args, non-root USER, HEALTHCHECK, .dockerignore
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# System Python: python3-yaml is installed for it (a pyenv python3 on PATH may lack PyYAML).
SYSPY=/usr/bin/python3

# --- tools ----------------------------------------------------------------------------------

missing_pkgs=()
command -v promtool >/dev/null 2>&1 || missing_pkgs+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing_pkgs+=(docker-compose)
command -v caddy >/dev/null 2>&1 || missing_pkgs+=(caddy)
command -v shellcheck >/dev/null 2>&1 || missing_pkgs+=(shellcheck)
{ [ -x "$SYSPY" ] && "$SYSPY" -c 'import yaml' 2>/dev/null; } || missing_pkgs+=(python3-yaml)
if [ "${#missing_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "check-deploy: missing packages ${missing_pkgs[*]}; run as root once to install them" >&2
    exit 2
  fi
  echo "check-deploy: installing ${missing_pkgs[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# --- runner ---------------------------------------------------------------------------------

results=()
failed=0
run() { # run NAME COMMAND...: run a check, show its output indented, record the result
  local name="$1" rc
  shift
  echo "=== $name"
  # A subshell with errexit on, NOT called from an `if`: inside an `if` condition bash ignores
  # `set -e`, and a check function would then carry on after a failing command.
  set +e
  (set -e; "$@") >"$TMP/out" 2>&1
  rc=$?
  set -e
  sed 's/^/    /' "$TMP/out"
  if [ "$rc" = 0 ]; then
    results+=("PASS  $name")
  else
    results+=("FAIL  $name (exit $rc)")
    failed=1
  fi
}

# Production compose needs its required variables and secret files: throw-away values.
prod_env() {
  env SECRETS_DIR="$TMP/secrets" DOMAIN=claude.example.com \
    OIDC_ISSUER_URL=https://idp.example.com/realms/acme OIDC_CLIENT_ID=remote-claude "$@"
}

# --- checks ---------------------------------------------------------------------------------

check_shell() {
  shellcheck -x scripts/check-deploy.sh deploy/docker/healthcheck.sh deploy/docker/stage-prebuilt.sh \
    deploy/prod/gen-secrets.sh deploy/sandbox/smoke-test.sh scripts/build-sandbox-image.sh \
    scripts/dev scripts/test scripts/lib.sh scripts/start-*.sh scripts/install-claude-cli.sh scripts/install-chromium.sh .ci/run \
    bench/api-list-sessions.sh bench/live-session.sh
  echo "shellcheck: OK"
}

check_dashboards() {
  python3 monitoring/lint-dashboards.py --promtool "$(command -v promtool)" \
    --metric-names monitoring/alerts.yml --metric-names monitoring/alerts.test.yml \
    monitoring/grafana/dashboards/*.json
}

# Structural checks on a rendered Compose file: compose-check.py RENDERED dev|prod
cat >"$TMP/compose-check.py" <<'PY'
import re, sys, tomllib, yaml

rendered, mode = sys.argv[1], sys.argv[2]
cfg = yaml.safe_load(open(rendered))
services = cfg.get("services", {})
errors = []

# RC_* variables must name existing configuration keys: unknown keys stop a service at start-up.
# Source of truth: config/remote-claude.example.toml (its commented [auth.oidc] block included).
def config_keys():
    try:
        lines = open("config/remote-claude.example.toml", encoding="utf-8").read().splitlines()
    except OSError:
        return None
    text = "\n".join(
        l[2:] if re.match(r"^# (\[[a-z_.]+\]$|[a-z_]+ = )", l) else l for l in lines
    )
    keys = set()
    def walk(prefix, node):
        for k, v in node.items():
            path = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                walk(path, v)
            else:
                keys.add(path)
    walk("", tomllib.loads(text))
    return keys

keys = config_keys()
RC_SERVICES = {"api", "session-manager", "worker", "file-service"}
for name, svc in services.items():
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    if name in RC_SERVICES and keys is not None:
        for var in env:
            if not var.startswith("RC_") or var == "RC_CONFIG_FILE":
                continue
            key = var[3:]
            if key.endswith("_FILE"):
                key = key[: -len("_FILE")]
            key = key.lower().replace("__", ".")
            if key not in keys:
                errors.append(f"{name}: {var} is not a configuration key ({key})")
    for vol in svc.get("volumes") or []:
        src = vol.get("source", "") if isinstance(vol, dict) else str(vol).split(":", 1)[0]
        if src.endswith("docker.sock"):
            allowed = ("session-manager", "file-service") if mode == "dev" else ("docker-socket-proxy",)
            if name not in allowed:
                errors.append(f"{name}: mounts the Docker socket (only {', '.join(allowed)} may)")
    for port in svc.get("ports") or []:
        if isinstance(port, dict):
            host_ip, published = port.get("host_ip"), port.get("published")
        else:
            parts = str(port).split(":")
            host_ip = parts[0] if len(parts) == 3 else None
            published = parts[-2] if len(parts) >= 2 else parts[0]
        if mode == "dev" and host_ip != "127.0.0.1":
            errors.append(f"{name}: port {port} is not bound to 127.0.0.1")
        if mode == "prod":
            if name != "caddy":
                errors.append(f"{name}: publishes {port} (only caddy may publish ports)")
            elif str(published) not in ("80", "443"):
                errors.append(f"caddy: publishes {port} (only 80 and 443)")

if mode == "prod":
    # Only session-manager and file-service (sandbox exec) share a network with the socket proxy.
    proxy_nets = set(services.get("docker-socket-proxy", {}).get("networks") or {})
    if not proxy_nets:
        errors.append("docker-socket-proxy: missing or on no explicit network")
    for name, svc in services.items():
        if name in ("docker-socket-proxy", "session-manager", "file-service"):
            continue
        shared = proxy_nets & set(svc.get("networks") or {})
        if shared:
            errors.append(f"{name}: shares network(s) {sorted(shared)} with docker-socket-proxy")
    for net in proxy_nets:
        if not (cfg.get("networks", {}).get(net) or {}).get("internal"):
            errors.append(f"network {net} (docker-socket-proxy) is not internal")
    sm = services.get("session-manager", {})
    if not (set(sm.get("networks") or {}) & proxy_nets):
        errors.append("session-manager cannot reach docker-socket-proxy")
    # No secret in a plain environment variable.
    for name, svc in services.items():
        if name == "docker-socket-proxy":
            continue  # its variables are API section switches (SECRETS=0, ...), not values
        env = svc.get("environment") or {}
        for var, val in env.items():
            if re.search(r"PASSWORD|SECRET|ACCESS_KEY|_KEY$|DATABASE__URL$|REDIS__URL$|AMQP__URL$", var) \
                    and not var.endswith("_FILE") and not var.endswith("__FILE"):
                errors.append(f"{name}: {var} is set in plain environment (use a *_FILE secret)")
    for name in ("api", "session-manager", "worker", "file-service"):
        env = services.get(name, {}).get("environment") or {}
        if env.get("RC_PROFILE") != "prod":
            errors.append(f"{name}: RC_PROFILE is not prod")
    for name in ("api", "worker", "file-service"):
        if not (services.get(name, {}).get("deploy") or {}).get("replicas"):
            errors.append(f"{name}: no deploy.replicas")
    # Every secret a service uses is declared, and its file exists.
    import os
    declared = cfg.get("secrets") or {}
    for name, svc in services.items():
        for s in svc.get("secrets") or []:
            src = s["source"] if isinstance(s, dict) else s
            if src not in declared:
                errors.append(f"{name}: secret {src} is not declared")
    for sname, sdef in declared.items():
        f = sdef.get("file")
        if f and not os.path.exists(f):
            errors.append(f"secret {sname}: file {f} does not exist")

for e in errors:
    print("ERROR:", e)
if errors:
    sys.exit(1)
print(f"{mode}: {len(services)} services; structure OK" + ("" if keys is not None else " (config schema not found: RC_* keys not checked)"))
PY

check_compose_dev() {
  docker-compose -f compose.yaml config -q
  docker-compose -f compose.yaml config >"$TMP/dev.yaml"
  "$SYSPY" "$TMP/compose-check.py" "$TMP/dev.yaml" dev
}

check_compose_prod() {
  deploy/prod/gen-secrets.sh "$TMP/secrets" >/dev/null 2>&1
  prod_env docker-compose -f compose.prod.yaml config -q
  prod_env docker-compose --compatibility -f compose.prod.yaml config -q
  prod_env docker-compose -f compose.prod.yaml config >"$TMP/prod.yaml"
  # Missing required variables must be reported, not silently empty.
  if env -u DOMAIN SECRETS_DIR="$TMP/secrets" docker-compose -f compose.prod.yaml config -q >/dev/null 2>&1; then
    echo "ERROR: compose.prod.yaml renders without DOMAIN set"
    return 1
  fi
  "$SYSPY" "$TMP/compose-check.py" "$TMP/prod.yaml" prod
}

check_caddy() {
  local mode
  # `caddy adapt --validate` provisions a local CA: keep its files out of $HOME.
  export XDG_DATA_HOME="$TMP/xdg-data" XDG_CONFIG_HOME="$TMP/xdg-config"
  for mode in acme internal; do
    DOMAIN=claude.example.com TLS_MODE=$mode caddy adapt --config deploy/caddy/Caddyfile \
      --adapter caddyfile --validate >/dev/null 2>"$TMP/caddy.err" \
      || { grep -v '"level":"info"' "$TMP/caddy.err"; return 1; }
    echo "TLS_MODE=$mode: adapt + validate OK"
  done
  # files: the certificate paths exist only inside the container, so adapt without validate.
  DOMAIN=claude.example.com TLS_MODE=files caddy adapt --config deploy/caddy/Caddyfile \
    --adapter caddyfile >"$TMP/caddy-files.json" 2>"$TMP/caddy.err" \
    || { grep -v '"level":"info"' "$TMP/caddy.err"; return 1; }
  grep -q '/run/secrets/tls_cert' "$TMP/caddy-files.json" || { echo "ERROR: TLS_MODE=files does not load /run/secrets/tls_cert"; return 1; }
  echo "TLS_MODE=files: adapt OK"
}

check_otel() {
  "$SYSPY" - monitoring/otel-collector.yaml <<'PY'
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
errors = []
for kind in ("receivers", "processors", "exporters"):
    if not isinstance(cfg.get(kind), dict) or not cfg[kind]:
        errors.append(f"no {kind} defined")
svc = cfg.get("service") or {}
for ext in svc.get("extensions") or []:
    if ext not in (cfg.get("extensions") or {}):
        errors.append(f"service.extensions: {ext} is not defined")
pipelines = svc.get("pipelines") or {}
if not pipelines:
    errors.append("no pipelines")
for pname, p in pipelines.items():
    if pname.split("/")[0] not in ("traces", "metrics", "logs"):
        errors.append(f"pipeline {pname}: unknown signal")
    for kind in ("receivers", "processors", "exporters"):
        for comp in p.get(kind) or []:
            if comp not in (cfg.get(kind) or {}):
                errors.append(f"pipeline {pname}: {kind[:-1]} {comp} is not defined")
    if not p.get("receivers") or not p.get("exporters"):
        errors.append(f"pipeline {pname}: needs receivers and exporters")
for proto, c in ((cfg.get("receivers") or {}).get("otlp", {}).get("protocols") or {}).items():
    ep = (c or {}).get("endpoint", "")
    if not ep.startswith("0.0.0.0:"):
        errors.append(f"otlp {proto} receiver listens on {ep or 'the default (localhost)'}: other containers cannot reach it")
for e in errors:
    print("ERROR:", e)
if errors:
    sys.exit(1)
print(f"otel-collector: {len(pipelines)} pipeline(s) OK")
PY
}

check_dockerfile() {
  "$SYSPY" - deploy/docker/Dockerfile.service .dockerignore <<'PY'
import re, sys
path, ignore = sys.argv[1], sys.argv[2]
text = open(path).read()
# Join continuation lines, drop comments.
lines = []
for raw in re.sub(r"\\\n", " ", text).splitlines():
    s = raw.strip()
    if s and not s.startswith("#"):
        lines.append(s)
errors = []
global_args, stages, cur = set(), [], None
stage_info = {}
for l in lines:
    instr, _, rest = l.partition(" ")
    instr = instr.upper()
    if instr == "ARG" and cur is None:
        global_args.add(rest.split("=", 1)[0].strip())
    elif instr == "FROM":
        m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
        if not m:
            errors.append(f"bad FROM: {l}")
            continue
        image, name = m.group(1), m.group(2)
        for var in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", image):
            if var not in global_args:
                errors.append(f"FROM {image}: ${var} is not a global ARG (declared before the first FROM)")
        if not image.startswith("$") and image.lower() not in [s.lower() for s in stages] and ":" not in image:
            errors.append(f"FROM {image}: neither a stage nor a tagged image")
        cur = name or f"#{len(stages)}"
        stages.append(cur)
        stage_info[cur] = {"args": set(), "user": None, "healthcheck": False, "entrypoint": False}
    elif cur is not None:
        info = stage_info[cur]
        if instr == "ARG":
            info["args"].add(rest.split("=", 1)[0].strip())
        elif instr == "USER":
            info["user"] = rest
        elif instr == "HEALTHCHECK":
            info["healthcheck"] = True
        elif instr == "ENTRYPOINT":
            info["entrypoint"] = True
        for ref in re.findall(r"--from=(\S+)", rest if instr == "COPY" else ""):
            if ref not in stages:
                errors.append(f"COPY --from={ref}: no earlier stage of that name")
for want in ("builder", "service", "frontend", "api"):
    if want not in stages:
        errors.append(f"stage {want} is missing")
for base in ("BASE_IMAGE", "RUST_IMAGE", "NODE_IMAGE"):
    if base not in global_args:
        errors.append(f"global ARG {base} is missing")
if "SQLX_OFFLINE=true cargo build --release --locked -p" not in text:
    errors.append("builder does not run `SQLX_OFFLINE=true cargo build --release --locked -p $SERVICE`")
svc = stage_info.get("service", {})
if not svc.get("user") or svc["user"].split(":")[0] in ("0", "root"):
    errors.append("service stage does not switch to a non-root USER")
if not svc.get("healthcheck"):
    errors.append("service stage has no HEALTHCHECK")
if not svc.get("entrypoint"):
    errors.append("service stage has no ENTRYPOINT")
for a in ("SERVICE", "PORT"):
    if a not in svc.get("args", set()):
        errors.append(f"service stage does not declare ARG {a}")
if re.search(r"^#\s*syntax\s*=", text, re.M):
    errors.append("a `# syntax=` line makes BuildKit pull a frontend image")
patterns = {l.strip() for l in open(ignore) if l.strip() and not l.startswith("#")}
for want in (".git", "**/target", "**/node_modules"):
    if want not in patterns:
        errors.append(f".dockerignore does not exclude {want}")
for e in errors:
    print("ERROR:", e)
if errors:
    sys.exit(1)
print(f"Dockerfile.service: stages {stages}; .dockerignore OK")
PY
}

run shell        check_shell
run prometheus   promtool check config monitoring/prometheus.yml
run alerts       promtool check rules monitoring/alerts.yml
run alert-tests  promtool test rules monitoring/alerts.test.yml
run dashboards   check_dashboards
run compose-dev  check_compose_dev
run compose-prod check_compose_prod
run caddy        check_caddy
run otel         check_otel
run dockerfile   check_dockerfile

echo
echo "=== summary"
printf '  %s\n' "${results[@]}"
if [ "$failed" != 0 ]; then
  echo "check-deploy: FAILED"
  exit 1
fi
echo "check-deploy: all checks passed"
