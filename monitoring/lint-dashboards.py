#!/usr/bin/env python3
"""Lint Grafana dashboard JSON files (Python standard library only).

Checks, per dashboard:
  * valid JSON; `uid` (Grafana's charset, at most 40 characters) and `title` present; uids
    unique across the files;
  * every panel (rows and panels nested in collapsed rows included) has a unique integer id,
    a title and a gridPos inside the 24-column grid;
  * panel data sources refer to a dashboard variable or to a provisioned data source uid;
  * every query `expr`, with Grafana's variables substituted ($__rate_interval, $__interval,
    $__range, and the dashboard's own template variables), is collected into a temporary rules
    file and parsed by `promtool check rules`, so a PromQL syntax error fails the lint;
  * every `rc_*` metric name used is one the services export (KNOWN_RC_METRICS below), so a
    misspelt metric fails the lint instead of showing an empty panel.

Also, with --metric-names FILE (repeatable): every `rc_*` name in the non-comment lines of
FILE (e.g. alerts.yml) must be a known metric too.

Usage: lint-dashboards.py [--promtool PATH] [--datasources DIR] [--metric-names FILE]... FILE.json...
Exit status: 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

# Metric names exported by the services (keep in sync when a service adds metrics).
# Histograms are listed by base name; _bucket/_sum/_count are accepted automatically.
KNOWN_RC_METRICS = {
    "rc_http_requests_total",
    "rc_http_request_duration_seconds",
    "rc_http_errors_total",
    "rc_bus_published_total",
    "rc_bus_consumed_total",
    "rc_sessions",
    "rc_tasks_total",
    "rc_task_queue_depth",
    "rc_turn_duration_seconds",
    "rc_model_tokens_total",
    "rc_model_cost_micros_total",
    "rc_container_cpu_ratio",
    "rc_container_memory_bytes",
    "rc_sandbox_create_seconds",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# Values used in place of Grafana's built-in variables (any valid duration/number will do).
BUILTIN_VARS = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "6h",
    "__interval_ms": "60000",
    "__range_ms": "21600000",
    "__range_s": "21600",
}

UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
RC_METRIC_RE = re.compile(r"\b(rc_[a-z0-9_]+)\b")


def known_metric(name: str) -> bool:
    if name in KNOWN_RC_METRICS:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in KNOWN_RC_METRICS:
            return True
    return False


def provisioned_datasource_uids(directory: str) -> set[str]:
    """`uid:` values from the provisioning YAML files (a line scan: no YAML parser needed)."""
    uids: set[str] = set()
    if not os.path.isdir(directory):
        return uids
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as fh:
            for line in fh:
                m = re.match(r"^\s*(?:-\s+)?uid:\s*['\"]?([A-Za-z0-9_-]+)['\"]?\s*(?:#.*)?$", line)
                if m:
                    uids.add(m.group(1))
    return uids


def walk_panels(panels):
    for panel in panels or []:
        yield panel
        # Collapsed rows carry their panels inside the row.
        yield from walk_panels(panel.get("panels"))


def variable_values(dashboard: dict) -> dict[str, str]:
    """A substitute value for each template variable."""
    values: dict[str, str] = {}
    for var in (dashboard.get("templating") or {}).get("list", []):
        name = var.get("name")
        if not name:
            continue
        vtype = var.get("type")
        if vtype == "datasource":
            values[name] = "prometheus"
        elif vtype == "interval":
            values[name] = "5m"
        elif var.get("includeAll") and var.get("allValue"):
            values[name] = var["allValue"]
        else:
            values[name] = "x"
    return values


def substitute(expr: str, values: dict[str, str]) -> str:
    # Longest names first, so that $service never eats into $services.
    for name in sorted(values, key=len, reverse=True):
        value = values[name]
        expr = re.sub(r"\$\{" + re.escape(name) + r"(?::[^}]*)?\}", lambda _m: value, expr)
        expr = expr.replace("[[" + name + "]]", value)
        expr = re.sub(r"\$" + re.escape(name) + r"(?![A-Za-z0-9_])", lambda _m: value, expr)
    return expr


def lint_dashboard(path: str, seen_uids: dict[str, str], ds_uids: set[str], rules: list, origins: list) -> list[str]:
    errors: list[str] = []
    try:
        with open(path, encoding="utf-8") as fh:
            dashboard = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{path}: not valid JSON: {exc}"]
    if not isinstance(dashboard, dict):
        return [f"{path}: top level is not an object"]

    uid = dashboard.get("uid")
    title = dashboard.get("title")
    if not isinstance(uid, str) or not UID_RE.match(uid):
        errors.append(f"{path}: uid missing or invalid (1-40 of A-Z a-z 0-9 _ -): {uid!r}")
    elif uid in seen_uids:
        errors.append(f"{path}: uid {uid!r} already used by {seen_uids[uid]}")
    else:
        seen_uids[uid] = path
    if not isinstance(title, str) or not title.strip():
        errors.append(f"{path}: title missing")

    values = dict(BUILTIN_VARS)
    values.update(variable_values(dashboard))
    var_names = set(variable_values(dashboard))

    # The datasource variable's default should be a provisioned data source.
    for var in (dashboard.get("templating") or {}).get("list", []):
        if var.get("type") == "datasource" and ds_uids:
            current = (var.get("current") or {}).get("value")
            if current and current not in ds_uids:
                errors.append(f"{path}: variable ${var.get('name')} defaults to {current!r}, not a provisioned data source ({sorted(ds_uids)})")

    ids: dict[int, str] = {}
    for panel in walk_panels(dashboard.get("panels")):
        pid = panel.get("id")
        ptitle = panel.get("title") or ""
        where = f"{path}: panel {pid!r} ({ptitle!r})"
        if not isinstance(pid, int) or isinstance(pid, bool):
            errors.append(f"{where}: id missing or not an integer")
        elif pid in ids:
            errors.append(f"{where}: duplicate id (also {ids[pid]!r})")
        else:
            ids[pid] = ptitle
        if not ptitle.strip():
            errors.append(f"{where}: title missing")
        grid = panel.get("gridPos") or {}
        if not all(isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")):
            errors.append(f"{where}: gridPos needs integer h, w, x, y")
        elif grid["x"] < 0 or grid["w"] < 1 or grid["x"] + grid["w"] > 24:
            errors.append(f"{where}: gridPos outside the 24-column grid: {grid}")

        sources = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets") or []]
        for ds in sources:
            if not isinstance(ds, dict) or "uid" not in ds:
                continue
            ds_uid = ds["uid"]
            m = re.fullmatch(r"\$\{?([A-Za-z0-9_]+)\}?", ds_uid or "")
            if m:
                if m.group(1) not in var_names:
                    errors.append(f"{where}: data source refers to undefined variable {ds_uid!r}")
            elif ds_uids and ds_uid not in ds_uids and ds.get("type") == "prometheus":
                errors.append(f"{where}: data source uid {ds_uid!r} is not provisioned ({sorted(ds_uids)})")

        for target in panel.get("targets") or []:
            expr = target.get("expr")
            if not expr:
                continue
            ref = target.get("refId", "?")
            concrete = substitute(expr, values)
            leftover = re.findall(r"\$\{?[A-Za-z_][A-Za-z0-9_]*", concrete)
            if leftover:
                errors.append(f"{where} target {ref}: unknown variable(s) {sorted(set(leftover))}")
                continue
            for metric in sorted(set(RC_METRIC_RE.findall(concrete))):
                if not known_metric(metric):
                    errors.append(f"{where} target {ref}: unknown metric {metric!r} (not in KNOWN_RC_METRICS)")
            safe_ref = re.sub(r"[^A-Za-z0-9_]", "_", str(ref))
            rules.append({"record": f"dashboard:panel_{pid}_{safe_ref}", "expr": concrete})
            origins.append(f"{path} panel {pid} ({ptitle}) target {ref}")
    return errors


def check_promql(promtool: str, rules: list, origins: list) -> list[str]:
    if not rules:
        return []
    # JSON is valid YAML: promtool reads this rules file as is.
    doc = {"groups": [{"name": "dashboard-expressions", "rules": rules}]}
    fd, tmp = tempfile.mkstemp(prefix="dashboard-exprs-", suffix=".yml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
        proc = subprocess.run([promtool, "check", "rules", tmp], capture_output=True, text=True)
    finally:
        os.unlink(tmp)
    if proc.returncode == 0:
        return []
    out = (proc.stdout + proc.stderr).strip()
    errors = [f"promtool check rules rejected dashboard expressions:\n{out}"]
    # promtool names failing rules by their 1-based index in the group: map back to panels.
    for m in sorted(set(int(n) for n in re.findall(r"rule (\d+)", out))):
        if 1 <= m <= len(origins):
            errors.append(f"  rule {m} = {origins[m - 1]}: {rules[m - 1]['expr']}")
    return errors


def check_metric_names(path: str) -> list[str]:
    errors: list[str] = []
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except OSError as exc:
        return [f"{path}: {exc}"]
    for number, line in enumerate(lines, 1):
        code = line.split("#", 1)[0]
        for metric in RC_METRIC_RE.findall(code):
            if not known_metric(metric):
                errors.append(f"{path}:{number}: unknown metric {metric!r} (not in KNOWN_RC_METRICS)")
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="dashboard JSON files")
    parser.add_argument("--promtool", default="promtool", help="promtool binary (default: promtool on PATH)")
    parser.add_argument(
        "--datasources",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "grafana", "provisioning", "datasources"),
        help="directory of provisioned data sources (uids)",
    )
    parser.add_argument("--metric-names", action="append", default=[], metavar="FILE",
                        help="also check the rc_* metric names used in FILE (repeatable)")
    args = parser.parse_args()

    ds_uids = provisioned_datasource_uids(args.datasources)
    errors: list[str] = []
    seen_uids: dict[str, str] = {}
    rules: list = []
    origins: list = []
    for path in args.files:
        errors += lint_dashboard(path, seen_uids, ds_uids, rules, origins)
    errors += check_promql(args.promtool, rules, origins)
    for path in args.metric_names:
        errors += check_metric_names(path)

    for err in errors:
        print(f"ERROR: {err}", file=sys.stderr)
    if errors:
        print(f"dashboards: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"dashboards: {len(args.files)} file(s), {len(rules)} expression(s) OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
