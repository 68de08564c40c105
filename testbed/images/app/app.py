#!/usr/bin/env python3
"""specctl testbed "app double": a small HTTP/WebSocket service for blue/green deploy tests.

Environment:
  PORT             listen port (default 8080), on 0.0.0.0
  APP_NAME         service name (default "app")
  APP_COLOR        deployment color, e.g. blue/green (default "none")
  APP_VERSION      version (baked into the image, overridable)
  APP_BOOT_DELAY   seconds to sleep before listening (default 0)
  APP_FAIL_HEALTH  1 -> /health answers 503 from the start
  APP_CRASH        1 -> exit 1 immediately at start
  UPLOAD_DIR       where POST /upload stores files (default /data/uploads)
  APP_SHUTDOWN_TIMEOUT  max seconds to wait for in-flight requests on SIGTERM (default 5)
  APP_ACCESS_LOG   0 -> no access log lines (default 1; bodies are never logged)
  APP_TURN         fail -> answer 500, slow -> answer APP_SLOW_SECONDS late (default 1), to every
                   request but /health, from APP_TURN_AFTER seconds (default 5) after the first
                   request that came through a proxy (X-Forwarded-For or X-Real-IP): a release
                   that passes its checks and then goes bad under real traffic

Endpoints: GET / /health /version /api/* /slow?seconds=N /ws (WebSocket echo);
POST /upload (multipart field "file") /predict /control/fail-health /control/recover /control/crash.
"""
import asyncio
import json
import logging
import os
import signal
import sys
import time
import uuid

from aiohttp import WSCloseCode, WSMsgType, web


def env(name, default):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


NAME = env("APP_NAME", "app")
COLOR = env("APP_COLOR", "none")
VERSION = env("APP_VERSION", "0.0")
UPLOAD_DIR = env("UPLOAD_DIR", "/data/uploads")
SHUTDOWN_TIMEOUT = float(env("APP_SHUTDOWN_TIMEOUT", "5"))
CHUNK = 64 * 1024

log = logging.getLogger("app")


def identity():
    return {"color": COLOR, "version": VERSION, "service": NAME}


def json_response(data, status=200):
    return web.json_response(data, status=status)


# --- middleware / signals -------------------------------------------------------------------------

@web.middleware
async def track_in_flight(request, handler):
    state = request.app["state"]
    state["in_flight"] += 1
    try:
        return await handler(request)
    finally:
        state["in_flight"] -= 1
        if state["in_flight"] == 0:
            state["idle"].set()


TURN = env("APP_TURN", "")
TURN_AFTER = float(env("APP_TURN_AFTER", "5"))
SLOW_SECONDS = float(env("APP_SLOW_SECONDS", "1"))


@web.middleware
async def turn_bad(request, handler):
    """APP_TURN: go bad a while after real (proxied) traffic arrives."""
    state = request.app["state"]
    if TURN and request.path != "/health":
        proxied = "X-Forwarded-For" in request.headers or "X-Real-IP" in request.headers
        if proxied and state["first_proxied"] is None:
            state["first_proxied"] = time.monotonic()
            log.warning("turn: first proxied request; going %s in %.1fs", TURN, TURN_AFTER)
        started = state["first_proxied"]
        if started is not None and time.monotonic() - started >= TURN_AFTER:
            if TURN == "fail":
                return json_response({"error": "APP_TURN=fail", **identity()}, status=500)
            if TURN == "slow":
                await asyncio.sleep(SLOW_SECONDS)
    return await handler(request)


async def add_identity_headers(request, response):
    response.headers["X-App-Color"] = COLOR
    response.headers["X-App-Version"] = VERSION
    response.headers["X-App-Name"] = NAME
    if request.app["state"]["draining"]:
        response.force_close()  # tell keep-alive clients (e.g. nginx upstreams) to reconnect elsewhere


# --- handlers -----------------------------------------------------------------------------------

async def root(request):
    return web.Response(text=f"{NAME} {COLOR} {VERSION}\n")


async def health(request):
    if request.app["state"]["failing"]:
        return json_response({"status": "failing", **identity()}, status=503)
    return json_response({"status": "ok", **identity()})


async def version(request):
    return json_response(identity())


def _safe_filename(raw):
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    name = "".join(c for c in name if c.isprintable() and c not in "/\0")
    if name in ("", ".", ".."):
        name = f"upload-{uuid.uuid4().hex[:12]}"
    elif name.startswith("."):
        name = "upload" + name  # no hidden files (".part" temp files are hidden)
    return name[:200]


async def upload(request):
    if not request.content_type.startswith("multipart/"):
        return json_response({"error": "expected multipart/form-data with a 'file' field"}, status=400)
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if part.name != "file":
            await part.release()
            continue
        filename = _safe_filename(part.filename)
        os.makedirs(UPLOAD_DIR, exist_ok=True)
        final = os.path.join(UPLOAD_DIR, filename)
        tmp = os.path.join(UPLOAD_DIR, f".{filename}.{uuid.uuid4().hex[:8]}.part")
        size = 0
        try:
            with open(tmp, "wb") as fh:
                while True:
                    chunk = await part.read_chunk(CHUNK)
                    if not chunk:
                        break
                    fh.write(chunk)
                    size += len(chunk)
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return json_response({"saved": filename, "size": size, **identity()}, status=201)
    return json_response({"error": "multipart field 'file' is required"}, status=400)


async def predict(request):
    n = 0
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            while True:
                chunk = await part.read_chunk(CHUNK)
                if not chunk:
                    break
                n += len(chunk)
    else:
        body = await request.read()
        n = len(body)
        if request.content_type == "application/json" and body:
            try:
                json.loads(body)
            except ValueError:
                return json_response({"error": "invalid JSON body", **identity()}, status=400)
    return json_response({"prediction": "ok", "input_bytes": n, **identity()})


async def websocket(request):
    ws = web.WebSocketResponse(timeout=2.0)
    await ws.prepare(request)
    sockets = request.app["websockets"]
    sockets.add(ws)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == WSMsgType.ERROR:
                break
        if not ws.closed:
            # 1001 "going away" when the server is shutting down (lets clients reconnect elsewhere).
            draining = request.app["state"]["draining"]
            await ws.close(code=WSCloseCode.GOING_AWAY if draining else WSCloseCode.OK,
                           message=b"server shutdown" if draining else b"")
    finally:
        sockets.discard(ws)
    return ws


async def slow(request):
    """GET /slow?seconds=N: answer after N seconds (max 60), to test draining of in-flight requests."""
    try:
        seconds = min(max(float(request.query.get("seconds", "1")), 0.0), 60.0)
    except ValueError:
        return json_response({"error": "seconds must be a number"}, status=400)
    await asyncio.sleep(seconds)
    return json_response({"slept": seconds, **identity()})


async def control_fail_health(request):
    request.app["state"]["failing"] = True
    log.warning("control: /health now answers 503")
    return json_response({"failing": True, **identity()})


async def control_recover(request):
    request.app["state"]["failing"] = False
    log.warning("control: /health healthy again")
    return json_response({"failing": False, **identity()})


async def control_crash(request):
    log.error("control: crashing on request (exit 1)")
    asyncio.get_running_loop().call_later(0.1, os._exit, 1)
    return json_response({"crashing": True, **identity()})


def make_app():
    app = web.Application(middlewares=[track_in_flight, turn_bad], client_max_size=1024 ** 3)
    app["state"] = {
        "failing": truthy(env("APP_FAIL_HEALTH", "0")),
        "draining": False,
        "in_flight": 0,
        "first_proxied": None,
        "idle": asyncio.Event(),
    }
    app["websockets"] = set()
    app.on_response_prepare.append(add_identity_headers)
    r = app.router
    r.add_get("/", root)
    r.add_get("/health", health)
    r.add_get("/version", version)
    r.add_get("/api", version)
    r.add_route("*", "/api/{tail:.*}", version)
    r.add_post("/upload", upload)
    r.add_post("/predict", predict)
    r.add_get("/ws", websocket)
    r.add_get("/slow", slow)
    r.add_post("/control/fail-health", control_fail_health)
    r.add_post("/control/recover", control_recover)
    r.add_post("/control/crash", control_crash)
    return app


async def serve(port):
    app = make_app()
    state = app["state"]
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=log if truthy(env("APP_ACCESS_LOG", "1")) else None,
        access_log_format='%a "%r" %s %b %Tfs',
    )
    await runner.setup()
    loop = asyncio.get_running_loop()
    # Own the listening socket so SIGTERM can stop accepting while in-flight requests finish.
    server = await loop.create_server(runner.server, host="0.0.0.0", port=port, reuse_address=True, backlog=128)
    print(f"app {NAME} color={COLOR} version={VERSION} listening on {port}", flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    print(f"app {NAME}: shutting down (in-flight requests: {state['in_flight']})", flush=True)
    state["draining"] = True
    server.close()  # stop accepting new connections
    # Close websockets (1001 going away) so their handlers finish.
    sockets = list(app["websockets"])
    if sockets:
        await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
                             return_exceptions=True)
    # Wait for in-flight HTTP requests.
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT
    while state["in_flight"] > 0 and time.monotonic() < deadline:
        state["idle"].clear()
        try:
            await asyncio.wait_for(state["idle"].wait(), timeout=max(0.05, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            break
    if state["in_flight"] > 0:
        print(f"app {NAME}: {state['in_flight']} request(s) still running after {SHUTDOWN_TIMEOUT}s; aborting them",
              flush=True)
    await runner.shutdown()
    await runner.server.shutdown(0.5)  # close idle keep-alive connections
    await runner.cleanup()
    print(f"app {NAME}: stopped", flush=True)


def main():
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    if truthy(env("APP_CRASH", "0")):
        print(f"app {NAME} color={COLOR} version={VERSION}: APP_CRASH=1, exiting with status 1",
              file=sys.stderr, flush=True)
        sys.exit(1)

    port = int(env("PORT", "8080"))

    # As PID 1 we must handle SIGTERM ourselves even while still "booting".
    def _stop_during_boot(signum, frame):
        print(f"app {NAME}: signal {signum} during boot delay, exiting", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop_during_boot)
    signal.signal(signal.SIGINT, _stop_during_boot)
    delay = float(env("APP_BOOT_DELAY", "0"))
    if delay > 0:
        print(f"app {NAME}: boot delay {delay:g}s before listening", flush=True)
        time.sleep(delay)

    asyncio.run(serve(port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
