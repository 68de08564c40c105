"""Raw benchmark results → the Markdown of bench/RESULTS.md; every figure is the median of the
repetitions. Pure: dicts in, text out."""

from __future__ import annotations

import math
import statistics
from typing import Any

ORDER = ["specctl apply", "specctl rollback", "docker compose up -d", "steady (no deploy)"]
CLIENTS = ["new connection", "keep-alive"]


def med(values: list[Any]) -> float:
    clean = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return statistics.median(clean) if clean else math.nan


def fmt(value: float, digits: int = 2) -> str:
    """A figure with `digits` decimals; a median of whole counts that falls between two keeps
    its .5; a missing figure is a dash."""
    if math.isnan(value):
        return "–"
    if digits == 0 and not float(value).is_integer():
        digits = 1
    return f"{value:.{digits}f}"


def column(rows: list[dict[str, Any]], key: str) -> list[Any]:
    return [r.get(key) for r in rows]


def table(head: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def section_note(section: dict[str, Any]) -> str:
    return f"_{section['date']}, {section['reps']} repetition(s) per figure._\n"


# --- 1 to 3: zero downtime, switch latency, warm rollback -----------------------------------------


def zero_downtime(section: dict[str, Any]) -> str:
    rows: dict[str, list[dict[str, Any]]] = section["data"]["rows"]
    body = []
    for operation in ORDER:
        for client in CLIENTS:
            reps = rows.get(f"{operation}|{client}", [])
            if not reps:
                continue
            ok = sum(1 for r in reps if r.get("ok"))
            failed = column(reps, "failed")
            body.append(
                [
                    f"**{operation}**" if operation.startswith("specctl") else operation,
                    client,
                    f"{ok}/{len(reps)}",
                    fmt(med(column(reps, "requests")), 0),
                    f"**{fmt(med(failed), 0)}** ({', '.join(str(f) for f in failed)})",
                    fmt(med(column(reps, "outage_s")), 2),
                    fmt(med(column(reps, "p99_ms")), 0),
                    fmt(med(column(reps, "max_ms")), 0),
                    fmt(med(column(reps, "seconds")), 1),
                ]
            )
    head = [
        "operation",
        "client",
        "runs ok",
        "requests",
        "failed (each run)",
        "longest outage (s)",
        "p99 (ms)",
        "max (ms)",
        "wall time (s)",
    ]
    recovered = [
        r["recovered_s"]
        for c in CLIENTS
        for r in rows.get(f"docker compose up -d|{c}", [])
        if "recovered_s" in r
    ]
    text = "## 1. Zero downtime at 200 requests/s (the app boots in 2 s)\n\n"
    text += section_note(section)
    text += "\n" + table(head, body) + "\n"
    text += (
        "Requests, failures and latencies count the requests that started between the start of "
        "the operation and 1.5 s after it ended (for the baseline: after the new version answered, "
        f"median {fmt(med(recovered), 1)} s after `up -d` started). Wall time is the command's: "
        "specctl's includes interpreter start-up; the baseline's `docker compose up -d` returns "
        "before the new app listens. The steady rows are the noise floor: the same load through "
        "specctl's nginx for 8 s with nothing deployed.\n"
    )
    return text


def switch_latency(section: dict[str, Any]) -> str:
    rows: dict[str, list[dict[str, Any]]] = section["data"]["rows"]
    body = []
    for operation in ("specctl apply", "specctl rollback"):
        for client in CLIENTS:
            reps = rows.get(f"{operation}|{client}", [])
            if not reps:
                continue
            body.append(
                [
                    operation,
                    client,
                    fmt(med(column(reps, "switch_latency_s")), 3),
                    fmt(med(column(reps, "proven_s")), 2),
                    fmt(med(column(reps, "switch_step_s")), 1),
                ]
            )
    head = [
        "operation",
        "client",
        "switch start → first load response from the new colour (s)",
        'specctl\'s "proven in" (s)',
        "whole switch step (s)",
    ]
    text = "## 2. Switch latency\n\n" + section_note(section) + "\n" + table(head, body) + "\n"
    text += (
        "The switch step starts when the step before it (`stage`: the new config written and "
        "checked with `nginx -t` inside the proxy) reports; its line is time-stamped as it "
        "arrives. The whole step is the atomic install, SIGHUP to nginx (through a pidfd opened "
        "while staging when the engine is local, else the Docker API) and the proof: nginx's "
        "workers from before the reload no longer accept connections (`docker top`), then 3 "
        "answers in a row from the new colour, each on a new connection. nginx itself keeps its "
        "old workers accepting for 100 ms after a reload (`ngx_msleep(100)` in its master "
        "process; while both accept, the kernel wakes the old workers first), so with the engine "
        "on this host specctl tells the old workers to stop accepting (SIGQUIT through pidfds "
        "opened while staging, nginx's own graceful shutdown) as soon as a worker of the new "
        "config runs (`appliers/handover.py`); elsewhere nginx's 100 ms is the floor of this "
        "figure.\n"
    )
    return text


def beyond(rows: list[dict[str, Any]], key: str = "seconds") -> float:
    """Median of (wall time − the paired `specctl --version` run just before it)."""
    return med([r[key] - r["startup_s"] for r in rows if r.get("startup_s") is not None])


def rollback(section: dict[str, Any]) -> str:
    rows: dict[str, list[dict[str, Any]]] = section["data"]["rows"]
    body = []
    for client in CLIENTS:
        reps = rows.get(f"specctl rollback|{client}", [])
        if not reps:
            continue
        body.append(
            [
                client,
                fmt(med(column(reps, "seconds")), 2),
                fmt(med(column(reps, "startup_s")), 2),
                fmt(beyond(reps), 2),
                fmt(med(column(reps, "inprocess_s")), 2),
            ]
        )
    head = [
        "client",
        "wall time (s)",
        "start-up (s)",
        "beyond start-up (s)",
        "specctl's own figure (s)",
    ]
    text = "## 3. `specctl rollback` with the previous colour warm\n\n" + section_note(section)
    text += "\n" + table(head, body) + "\n"
    text += (
        "Under the same 200 requests/s. Start-up is a `specctl --version` run under the same "
        "load just before each rollback (interpreter and imports); beyond start-up is the median "
        "of the per-run differences. specctl's own figure is its `done: rolled back to … (X s)` "
        "line: from detecting the active colour to the proven switch.\n"
    )
    return text


# --- 4: overhead ----------------------------------------------------------------------------------


def overhead(section: dict[str, Any]) -> str:
    reps = section["data"]["overhead"]["reps"]
    apply_s = med(column(reps, "apply_s"))
    net = beyond(reps, "apply_s")
    inprocess = med(column(reps, "apply_inprocess_s"))
    bare = med(column(reps, "bare_s"))
    body = [
        [
            fmt(apply_s, 2),
            fmt(net, 2),
            fmt(inprocess, 2),
            fmt(bare, 2),
            f"**{fmt(apply_s / bare, 2)}×**",
            f"{fmt(net / bare, 2)}×",
            f"{fmt(inprocess / bare, 2)}×",
        ]
    ]
    head = [
        "`specctl apply` wall (s)",
        "beyond start-up (s)",
        "specctl's own figure (s)",
        "bare `docker compose up -d --wait` (s)",
        "ratio, wall",
        "ratio, beyond start-up",
        "ratio, own figure",
    ]
    text = "## 4. Overhead of `specctl apply` over a bare Compose deploy\n\n"
    text += section_note(section) + "\n" + table(head, body) + "\n"
    text += (
        "Both deploy the same green colour (the app 1.1, booting in 2 s, with a 1 s health "
        "check) with blue serving and no load: specctl runs the whole procedure (lock, "
        "pre-checks, deploy, health, verification, switch with proof, record); the bare run is "
        "`docker compose -f generated/…/compose.green.yml -p <fresh project> up -d --wait`. "
        f"Start-up (`specctl --version`, run just before each apply): median "
        f"{fmt(med(column(reps, 'startup_s')), 2)} s.\n"
    )
    return text


# --- 5: scaling -----------------------------------------------------------------------------------


def scaling(section: dict[str, Any]) -> str:
    body = []
    for row in section["data"]["rows"]:
        built, empty = row["compile"], row["plan_empty"]
        noop = row.get("plan_noop") or []
        body.append(
            [
                str(row["services"]),
                fmt(med(column(built, "beyond")), 2),
                fmt(med(column(built, "inprocess")), 2),
                fmt(med(column(empty, "beyond")), 2),
                fmt(med(column(empty, "seconds")), 2),
                fmt(med(column(empty, "calls")), 0),
                fmt(med(column(noop, "beyond")), 2),
                fmt(med(column(noop, "seconds")), 2),
                fmt(med(column(noop, "calls")), 0),
                fmt(med(column(noop, "observe_calls")), 0),
            ]
        )
    head = [
        "services",
        "`compile` (s)",
        "in-process (s)",
        "`plan`, nothing deployed (s)",
        "in-process (s)",
        "API calls",
        "no-op `plan`, all running (s)",
        "in-process (s)",
        "API calls",
        "of which observe",
    ]
    text = "## 5. Scaling: `compile` and no-op `plan`\n\n" + section_note(section) + "\n"
    text += table(head, body) + "\n"
    text += (
        "Command times are wall time beyond start-up: each run minus a `specctl --version` run "
        f"just before it (start-up alone: median {fmt(section['startup_s'], 2)} s at the start); "
        "on a busy machine the two differ by more than a small plan costs, hence figures near "
        "or below zero. In-process times are load_project + compile, and load_project + "
        "make_plan, inside the benchmark's own process. The no-op plan is `specctl plan "
        "--target blue --detailed-exitcode` (exit 0) against a blue deployed by a real "
        "`specctl apply`: one app behind nginx plus tiny nginx containers. API calls are "
        "counted in-process by the engine's counting client (a new process adds one call to "
        "negotiate the API version); `observe` is `Live.api_calls`. A dash: not deployed at "
        "that size.\n"
    )
    return text


# --- 6: start-up ----------------------------------------------------------------------------------


def startup(section: dict[str, Any], machine: dict[str, str]) -> str:
    rows = section["data"]["rows"]
    previous = section.get("previous") or {}
    before = {r["command"]: r["median_s"] for r in (previous.get("data") or {}).get("rows", [])}
    head = ["command", "wall time (s)", "each run (s)"]
    if before:
        head.insert(1, f"before (s), {previous['source']}")
    body = []
    for row in rows:
        cells = [
            f"`{row['command']}`",
            f"**{fmt(row['median_s'], 2)}**",
            ", ".join(fmt(s, 2) for s in row["seconds"]),
        ]
        if before:
            cells.insert(1, fmt(before.get(row["command"], math.nan), 2))
        body.append(cells)
    text = "## 6. Start-up of the commands that need no Docker\n\n"
    text += f"_{section['date']}, {section['reps']} repetition(s) per figure; specctl "
    text += f"{section['source']}._\n\n" + table(head, body) + "\n"
    modules = section["data"].get("modules", {})
    counts = ", ".join(f"`import {name}` {count}" for name, count in modules.items())
    text += (
        "Whole-process wall time of `python -m specctl …` started from Python with "
        "`subprocess` in the repository root, median of the runs (taken round robin over the "
        "commands, so a noisy moment hits every row alike), on a shared, noisy "
        f"{machine.get('nproc', '?')}-core machine. "
        "It includes the interpreter's own start-up, the first row. The `before` column is the "
        "previous run of this table on other code, when there was one. Modules in "
        f"`sys.modules` after a bare import: {counts}.\n"
    )
    return text


# --- 7: apply with a build ------------------------------------------------------------------------


def build(section: dict[str, Any]) -> str:
    rows = section["data"]["rows"]
    kinds: dict[str, str] = section["data"]["kinds"]

    def of(kind: str, key: str) -> float:
        return med([r[key] for r in rows if r["kind"] == kind and r.get(key) is not None])

    body = []
    for kind in ("none", "warm", "cold"):  # results.json sorts the keys
        what = kinds[kind]
        compose = of(f"compose-{kind}", "seconds") if kind != "none" else math.nan
        images = of(kind, "images_s") if kind != "none" else math.nan
        body.append(
            [
                what,
                f"**{fmt(of(kind, 'seconds'), 2)}**",
                fmt(images, 2),
                fmt(compose, 2),
                fmt(images - compose, 2),
                fmt(of(kind, "deploy_s"), 2),
            ]
        )
    head = [
        "`specctl apply` of a built service",
        "apply wall (s)",
        "images step (s)",
        "`docker compose build` alone (s)",
        "images step − compose build (s)",
        "deploy step (s)",
    ]
    text = "## 7. Apply with a build\n\n" + section_note(section) + "\n" + table(head, body)
    text += (
        "\nOne service built from a Dockerfile (`FROM specctl-testbed/app:1.0`, a `deps.txt` "
        "copied in, then a RUN writing a 40 MB layer, the stand-in for a dependency install, "
        "then `COPY src/`), no load. Each apply deploys the colour not serving after its "
        "containers were removed, so each one creates them: the rows differ only in what the "
        "images step builds. The baseline is `docker compose -f generated/…/compose.blue.yml "
        "build web` of the same kind of change, run on its own: the images step runs that same "
        "Compose build (BuildKit in the engine, its layer cache kept between runs) plus one "
        "image listing; the difference is specctl's share. The cache is never pruned (the "
        "machine is shared): the cold row changes the first file the Dockerfile copies, so no "
        "layer after the local FROM image can come from the cache.\n"
    )
    return text


# --- 8: the bake's switch-back -------------------------------------------------------------------


def bake(section: dict[str, Any]) -> str:
    data = section["data"]
    rows, kinds = data["rows"], data["kinds"]
    body = []
    for kind in ("fail", "slow"):
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue

        def of(key: str, rows: list[dict[str, Any]] = mine) -> float:
            return med([r[key] for r in rows if r.get(key) is not None])

        body.append(
            [
                kinds[kind],
                str(len(mine)),
                fmt(of("found_after_first_bad_s"), 2),
                f"**{fmt(of('switch_back_s'), 2)}**",
                fmt(of("last_bad_after_found_s"), 2),
                fmt(of("bad_answers"), 0),
                str(sum(r["other_failures"] for r in mine)),
            ]
        )
    head = [
        "the release turns bad 3 s after real traffic reaches it",
        "runs",
        "first bad answer → breach found (s)",
        "breach found → old colour proven (s)",
        "breach found → last bad answer ends (s)",
        "bad answers (median)",
        "other failed requests (all runs)",
    ]
    text = "## 8. The bake: switch-back\n\n" + section_note(section) + "\n" + table(head, body)
    text += (
        f"\n`specctl apply --target green` under {data['rate']} requests/s on `/api/version` "
        "through nginx (the load generator of part 1: a new connection per request, no retry, "
        "so every failure is counted), with `deploy.bake: {duration: 60s, window: 5s, "
        "min_requests: 20, max_5xx_percent: 1, max_p95: 600ms}`. Green passes its health "
        "checks, direct and proxied verification, then turns bad 3 s after the first proxied "
        "request (the app double's `APP_TURN`). *Breach found* is the bake's own clock "
        "(`bake.found_at` in `specctl history --format json`); *old colour proven* is "
        "`switch_back_seconds` (stage, `nginx -t`, reload and the switch proof of the "
        "switch back); the first and last bad answers are the load generator's. *Other failed "
        "requests* are those the bad release did not give itself (connection errors, 502s, "
        "blue's errors): the switches add none when it is 0. A run whose breach was not the "
        "intended one (a noise p95 before the release turned) counts in *runs* but has no "
        "figures of bad answers.\n"
    )
    return text


# --- 9: Swarm ---------------------------------------------------------------------------------


def swarm(section: dict[str, Any]) -> str:
    data = section["data"]
    body = []
    for operation in ("apply", "rollback"):
        for client in CLIENTS:
            reps = [r for r in data.get(operation, []) if r.get("client") == client]
            if not reps:
                continue
            body.append(
                [
                    f"**specctl {operation}**",
                    client,
                    str(len(reps)),
                    fmt(sum(column(reps, "failed")), 0),
                    fmt(med(column(reps, "requests")), 0),
                    fmt(med(column(reps, "outage_s")), 2),
                    fmt(med(column(reps, "p99_ms")), 0),
                    fmt(med(column(reps, "max_ms")), 0),
                    fmt(med(column(reps, "switch_s")), 2),
                    fmt(med(column(reps, "seconds")), 1),
                ]
            )
    head = [
        "operation",
        "client",
        "runs",
        "failed requests (all runs)",
        "requests per run",
        "longest outage (s)",
        "p99 (ms)",
        "max (ms)",
        "switch proven in (s)",
        "wall (s)",
    ]
    text = "## 9. Swarm: blue/green on three nodes\n\n" + section_note(section) + "\n"
    text += table(head, body) + "\n"
    plans = data.get("plan") or []
    if plans:
        rows = [
            [
                str(row["services"]),
                fmt(row["apply_s"], 1),
                fmt(med(column(row["plan"], "wall")), 2),
                fmt(med(column(row["plan"], "seconds")), 2),
                fmt(med(column(row["plan"], "calls")), 0),
                fmt(med(column(row["plan"], "observe_calls")), 0),
            ]
            for row in plans
        ]
        text += (
            table(
                [
                    "services",
                    "first apply (s)",
                    "no-op `plan` (s)",
                    "in-process (s)",
                    "API calls",
                    "of which observe",
                ],
                rows,
            )
            + "\n"
        )
    text += (
        "The test bed of `testbed/swarm.sh`: a manager (m1, the edge nginx) and two workers, "
        "each its own dockerd in a network namespace on this one machine, so every node shares "
        "the same two cores. The app: web (1 task) and api (2 replicas, one per worker), "
        "`endpoint_mode: dnsrr`, `retire: keep`. Load: 100 requests/s to `/api/version` "
        "through the edge nginx at m1's address, from `specctl.appliers.loadgen.Load`: a new "
        "connection per request (no retry), or keep-alive connections that retry once when a "
        "reused idle connection is closed before any response. Each apply deploys green (app "
        "1.1) from nothing (its stack is removed after each rollback); the rollback goes back "
        "to the warm blue. `switch proven in`: the switch step's proof (requests through nginx "
        "reach the new colour). The plan rows: `specctl plan --target blue "
        "--detailed-exitcode` (exit 0) as a user runs it, then make_plan in-process with the "
        "engine's counting client; `observe` is Live.api_calls (three for the cluster, one for "
        "the manager's images).\n"
    )
    return text


def failed(title: str, section: dict[str, Any]) -> str:
    first = str(section["error"]).splitlines()[0]
    return f"## {title}\n\n_{section['date']}: the benchmark failed: {first}_\n"


def render(results: dict[str, Any]) -> str:
    parts = [
        "# specctl benchmark results\n\n"
        f"From `{results['command']}` on {results['date']} (took {results['took']}); the "
        "machine and how to rerun: `docs/PERFORMANCE.md` and `bench/README.md`.\n"
    ]
    zd = results.get("zero_downtime")
    if zd and zd.get("error"):
        parts.append(failed("1–4. Zero downtime, switch latency, rollback, overhead", zd))
    elif zd:
        parts += [zero_downtime(zd), switch_latency(zd), rollback(zd), overhead(zd)]
    scale = results.get("scaling")
    if scale and scale.get("error"):
        parts.append(failed("5. Scaling", scale))
    elif scale:
        parts.append(scaling(scale))
    built = results.get("build")
    if built and built.get("error"):
        parts.append(failed("7. Apply with a build", built))
    elif built:
        parts.append(build(built))
    baked = results.get("bake")
    if baked and baked.get("error"):
        parts.append(failed("8. The bake: switch-back", baked))
    elif baked:
        parts.append(bake(baked))
    sw = results.get("swarm")
    if sw and sw.get("error"):
        parts.append(failed("9. Swarm: blue/green on three nodes", sw))
    elif sw:
        parts.append(swarm(sw))
    start = results.get("startup")
    if start and start.get("error"):
        parts.append(failed("6. Start-up", start))
    elif start:
        parts.append(startup(start, results.get("machine", {})))
    return "\n".join(parts)
