"""The WHIP/WHEP HTTP exchange of the Python test clients, in one place:
POST an offer (retrying 409 for viewers), read the 201 (Location, ETag,
Link, the answer SDP), DELETE the session; and the JSON lines every
client prints. Standard library only."""

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HTTP_TIMEOUT = 10
BACKOFF = [0.5, 1, 2, 4, 5]     # seconds between POSTs answered 409
MIN_RETRY = 0.25


def emit(event, **fields):
    obj = {"event": event}
    obj.update(fields)
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def http_request(method, url, body=None, headers=None):
    """(status, headers as list of (name, value), body); status 0 when
    the server could not be reached."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
            return r.status, r.getheaders(), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return (e.code, list(e.headers.items()),
                e.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as e:
        return 0, [], str(getattr(e, "reason", e))


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def retry_after(value):
    """Seconds from a Retry-After value (delta or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        from email.utils import parsedate_to_datetime
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def offer_summary(sdp):
    lines = sdp.splitlines()
    return {"media": [line.split()[0][2:] for line in lines
                      if line.startswith("m=")],
            "directions": [line[2:] for line in lines
                           if line in ("a=recvonly", "a=sendrecv",
                                       "a=sendonly", "a=inactive")],
            "candidates": sum(1 for line in lines
                              if line.startswith("a=candidate:")),
            # the first m-section's (the BUNDLE tag's) ICE ufrag
            "ice_ufrag": next((line[12:] for line in lines
                               if line.startswith("a=ice-ufrag:")), None)}


def request_headers(user_agent, token):
    headers = {"User-Agent": user_agent}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def add_arguments(p, seconds_help=None):
    """The options every WHIP/WHEP client takes."""
    p.add_argument("--url", required=True)
    p.add_argument("--token")
    p.add_argument("--seconds", type=float, default=5, help=seconds_help)
    p.add_argument("--no-delete", action="store_true")
    p.add_argument("--close-no-delete", action="store_true",
                   help="close the peer connection without DELETE")
    p.add_argument("--linger", type=float, default=0,
                   help="with --close-no-delete: seconds to wait before "
                        "exiting")
    p.add_argument("--audio", action=argparse.BooleanOptionalAction,
                   default=True)
    p.add_argument("--video", action=argparse.BooleanOptionalAction,
                   default=True)
    p.add_argument("--connect-timeout", type=float, default=10)
    p.add_argument("--print-offer", action="store_true")


async def post_offer(url, sdp, headers, max_retries=0, before_post=None):
    """POSTs the offer; a 409 (stream not live yet) is POSTed again after
    a backoff (BACKOFF, shortened to Retry-After when that is smaller), at
    most max_retries times, each retry printed as a "waiting" event.
    before_post() is called before every POST. Returns (status, headers,
    body, retries)."""
    retries = 0
    while True:
        if before_post:
            before_post()
        status, rh, body = await asyncio.to_thread(
            http_request, "POST", url, sdp.encode(),
            dict(headers, **{"Content-Type": "application/sdp"}))
        if status != 409 or retries >= max_retries:
            return status, rh, body, retries
        retries += 1
        ra = retry_after(header(rh, "retry-after"))
        delay = BACKOFF[min(retries, len(BACKOFF)) - 1]
        if ra is not None and ra < delay:
            delay = max(MIN_RETRY, ra)
        emit("waiting", retries=retries, status=status, retry_after=ra,
             delay=delay, body=body.strip()[:200])
        await asyncio.sleep(delay)


def read_answer(url, status, rh, body, **extra):
    """Prints the answer (or the error) of a POST. Returns (session URL,
    answer SDP), or None after an "error" event when it is not a 201 with
    a Location. extra: more fields for both events."""
    if status != 201:
        emit("error", stage="post", status=status, body=body.strip(), **extra)
        return None
    location = header(rh, "location")
    links = [v for k, v in rh if k.lower() == "link"]
    emit("answer", status=status, location=location,
         etag=header(rh, "etag"), content_type=header(rh, "content-type"),
         links=links, sdp=body, **extra)
    if not location:
        emit("error", stage="post", status=status, body="no Location header")
        return None
    # OBS drops anything before v=0; be as lenient
    answer = body[body.find("v=0"):] if "v=0" in body else body
    return urllib.parse.urljoin(url, location), answer


async def delete(session_url, headers, report=True):
    """DELETEs the session; prints {"event":"deleted"} unless not
    report. Returns the status."""
    status, _, body = await asyncio.to_thread(
        http_request, "DELETE", session_url, None, headers)
    if report:
        emit("deleted", status=status, body=body if status != 200 else None)
    return status


def vanish(rc):
    """Exits at once: no DELETE, no DTLS close_notify, and no wait for
    threads a media library left behind."""
    sys.stdout.flush()
    os._exit(rc)


def run_bounded(run, budget):
    """Runs the coroutine run() with a hard limit of budget seconds on
    top of each bounded wait, then exits with its status."""
    async def bounded():
        return await asyncio.wait_for(run(), budget)

    try:
        rc = asyncio.run(bounded())
    except asyncio.TimeoutError:
        emit("error", stage="timeout", status=0,
             body=f"gave up after {budget:.0f} s")
        rc = 1
    except Exception as e:  # noqa: BLE001
        emit("error", stage="exception", status=0, body=repr(e))
        rc = 1
    vanish(rc)
