"""GStreamer 1.22 webrtcbin (Debian 12's gstreamer1.0-plugins-bad) as the
GStreamer clients use it here: ICE on loopback, and the steps of a WHIP
or WHEP session that the publisher and the viewer share (offer, gathering,
answer, connection state, the end of a session).

Everything is synchronous: webrtcbin runs in its own threads, its signal
handlers only record what happened (Flags), and the client's main thread
polls with bounded waits. No GLib main loop is needed.

libnice as packaged ignores 127.0.0.1 unless the address is added to the
agent (and turns UPnP on): see ice_on_loopback."""

import asyncio
import os
import signal
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Nice", "0.1")

from gi.repository import Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

from whip import delete, emit, offer_summary, read_answer, vanish  # noqa: E402
import whip  # noqa: E402

Gst.init(None)

STATE = GstWebRTC.WebRTCPeerConnectionState
GATHERING = GstWebRTC.WebRTCICEGatheringState

# references that must outlive the pipeline's teardown (the NiceAgent:
# PyGObject otherwise drops its wrapper under webrtcbin, which logs
# GLib-GObject-CRITICAL at exit)
_KEEP = []


class Flags:
    """What webrtcbin's threads report, read by the main thread."""

    def __init__(self):
        self.negotiation_needed = threading.Event()
        self.gathered = threading.Event()
        self.stop = threading.Event()      # SIGUSR1
        self.bus_error = None


def make_webrtcbin(pipeline, flags, tcp=True):
    """A webrtcbin named "webrtc" in pipeline, max-bundle, no STUN, ICE
    on 127.0.0.1 only (UDP, and TCP unless not tcp), its state changes
    printed."""
    w = Gst.ElementFactory.make("webrtcbin", "webrtc")
    if w is None:
        raise SystemExit("no webrtcbin (gstreamer1.0-plugins-bad)")
    w.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    pipeline.add(w)
    ice_on_loopback(w, tcp)

    w.connect("on-negotiation-needed",
              lambda *_: flags.negotiation_needed.set())

    def on_gathering(el, _pspec):
        if el.get_property("ice-gathering-state") == GATHERING.COMPLETE:
            flags.gathered.set()

    w.connect("notify::ice-gathering-state", on_gathering)
    report_states(w)
    return w


def ice_on_loopback(w, tcp=True):
    """libnice 0.1.21: no UPnP, and 127.0.0.1 as the only local address
    (libnice skips loopback when it picks addresses itself; inside the
    test namespace there is nothing else). TCP candidates (webrtcbin's
    default: active and passive) stay unless not tcp."""
    ice = w.get_property("ice-agent")
    agent = ice.get_property("agent")
    _KEEP.extend([ice, agent])
    agent.set_property("upnp", False)
    ice.set_property("ice-tcp", tcp)
    addr = Nice.Address.new()
    addr.set_from_string("127.0.0.1")
    agent.add_local_address(addr)


def report_states(w):
    """Prints {"event":"state","ice":..,"connection":..} on every change
    (webrtcbin's names, lower case)."""
    last = {}
    lock = threading.Lock()

    def report(el, _pspec):
        now = {"ice": el.get_property("ice-connection-state")
               .value_nick.lower(),
               "connection": el.get_property("connection-state")
               .value_nick.lower()}
        with lock:
            if now != last:
                last.update(now)
                emit("state", **now)

    w.connect("notify::ice-connection-state", report)
    w.connect("notify::connection-state", report)


def watch_bus(pipeline, flags):
    """Pipeline errors end the client: recorded in flags.bus_error."""
    bus = pipeline.get_bus()

    def poll():
        while True:
            msg = bus.timed_pop_filtered(
                100 * Gst.MSECOND, Gst.MessageType.ERROR)
            if msg is not None:
                err, dbg = msg.parse_error()
                flags.bus_error = f"{msg.src.get_name()}: {err.message}"
                emit("error", stage="pipeline", status=0,
                     body=flags.bus_error, debug=dbg)
                return

    threading.Thread(target=poll, daemon=True).start()


def stop_signal(flags):
    """SIGUSR1 sets flags.stop: tests end the sending or watching phase
    early with it."""
    signal.signal(signal.SIGUSR1, lambda *_: flags.stop.set())


def promise(w, action, *args, timeout=10):
    """Emits an action signal that takes a GstPromise last; returns the
    reply structure (or None), bounded by timeout."""
    done = threading.Event()
    p = Gst.Promise.new_with_change_func(lambda _p: done.set())
    w.emit(action, *args, p)
    if not done.wait(timeout):
        p.interrupt()
        raise RuntimeError(f"{action}: no reply after {timeout} s")
    if p.wait() != Gst.PromiseResult.REPLIED:
        raise RuntimeError(f"{action}: promise {p.wait().value_nick}")
    return p.get_reply()


def local_offer(w, flags, args, **summary):
    """Creates the offer, sets it, waits (bounded) for ICE gathering to
    complete and returns the local description as SDP text, printed as
    {"event":"offer",..} (plus summary); with --print-offer the SDP is
    printed and None returned. The server is ICE-lite and does not take
    trickled candidates from WHIP clients before the answer: the offer
    carries them all."""
    reply = promise(w, "create-offer", None, timeout=args.connect_timeout)
    offer = reply.get_value("offer") if reply else None
    if offer is None:
        err = reply.get_value("error") if reply and reply.has_field(
            "error") else None
        raise RuntimeError(f"create-offer failed: {err}")
    promise(w, "set-local-description", offer, timeout=args.connect_timeout)
    if not flags.gathered.wait(args.connect_timeout):
        raise RuntimeError(f"ICE gathering not complete after "
                           f"{args.connect_timeout} s")
    sdp = w.get_property("local-description").sdp.as_text()
    if args.print_offer:
        os.write(1, sdp.encode())
        return None
    emit("offer", **offer_summary(sdp), **summary)
    return sdp


def accept_answer(w, url, response, headers, **extra):
    """Reads the POST's (status, headers, body) with whip.read_answer and
    applies the answer. Returns (session URL, 0), or (None, exit status)
    after an error event: 2 for an HTTP error, 1 for an answer webrtcbin
    refuses (the session is deleted)."""
    got = read_answer(url, *response, **extra)
    if got is None:
        return None, 2
    session_url, sdp = got
    res, msg = GstSdp.SDPMessage.new_from_text(sdp)
    error = None
    if res != GstSdp.SDPResult.OK:
        error = f"answer SDP not parsed ({res})"
    else:
        answer = GstWebRTC.WebRTCSessionDescription.new(
            GstWebRTC.WebRTCSDPType.ANSWER, msg)
        try:
            reply = promise(w, "set-remote-description", answer)
            if reply is not None and reply.has_field("error"):
                error = str(reply.get_value("error"))
        except RuntimeError as e:
            error = str(e)
    if error:
        emit("error", stage="answer", status=response[0], body=error)
        whip.http_request("DELETE", session_url, None, headers)
        return None, 1
    return session_url, 0


def connection(w):
    return w.get_property("connection-state")


def wait_connected(w, flags, timeout):
    """connection-state "connected" within timeout seconds; else an
    error event and False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and flags.bus_error is None:
        state = connection(w)
        if state == STATE.CONNECTED:
            return True
        if state in (STATE.FAILED, STATE.CLOSED):
            break
        time.sleep(0.05)
    emit("error", stage="connect", status=201,
         body=f"not connected after {timeout} s "
              f"(connection {connection(w).value_nick}, ice "
              f"{w.get_property('ice-connection-state').value_nick})")
    return False


def lost(w, flags):
    """Whether the connection is lost (or the pipeline failed), printed
    as {"event":"disconnected"}."""
    state = connection(w)
    if state == STATE.CONNECTED and flags.bus_error is None:
        return False
    emit("disconnected", connection=state.value_nick,
         ice=w.get_property("ice-connection-state").value_nick,
         pipeline_error=flags.bus_error)
    return True


def stats(w):
    """webrtcbin's get-stats, as a list of the RTP stream records
    ({"type","kind","ssrc",..}: outbound-rtp and inbound-rtp of streams
    that have seen packets)."""
    try:
        reply = promise(w, "get-stats", None, timeout=5)
    except RuntimeError as e:
        return [{"error": str(e)}]
    out = []
    for i in range(reply.n_fields()):
        s = reply.get_value(reply.nth_field_name(i))
        if not isinstance(s, Gst.Structure):
            continue
        kind = s.get_value("type")
        kind = kind.value_nick if hasattr(kind, "value_nick") else str(kind)
        if kind not in ("outbound-rtp", "inbound-rtp"):
            continue
        rec = {"type": kind}
        # 1.22 under BUNDLE gives every stream the kind and codec-id of
        # the last transceiver: the RTP source's clock rate tells
        src = s.get_value("gst-rtpsource-stats") \
            if s.has_field("gst-rtpsource-stats") else None
        rate = src.get_value("clock-rate") \
            if isinstance(src, Gst.Structure) \
            and src.has_field("clock-rate") else None
        if rate == 90000:
            rec["kind"] = "video"
        elif rate == 48000:
            rec["kind"] = "audio"
        else:
            continue        # not validated yet: no packet seen
        for f in ("ssrc", "packets-sent", "bytes-sent",
                  "packets-received", "bytes-received", "packets-lost",
                  "pli-count", "nack-count"):
            if s.has_field(f):
                rec[f.replace("-", "_")] = s.get_value(f)
        out.append(rec)
    return out


def end(pipeline, session_url, headers, rc, args):
    """The end of a session: --no-delete exits at once (a peer that
    vanished); --close-no-delete stops the pipeline without DELETE,
    prints {"event":"closed"} and waits --linger seconds; else DELETE (a
    status other than 200 makes rc 2) and stop. Returns rc."""
    if args.no_delete:
        vanish(rc)
    if args.close_no_delete:
        stop_pipeline(pipeline)
        emit("closed")
        time.sleep(args.linger)
        return rc
    status = asyncio.run(delete(session_url, headers))
    if status != 200 and rc == 0:
        rc = 2
    stop_pipeline(pipeline)
    return rc


def stop_pipeline(pipeline):
    """To NULL, bounded: webrtcbin's teardown can hang on a dead peer."""
    t = threading.Thread(target=pipeline.set_state, args=(Gst.State.NULL,),
                         daemon=True)
    t.start()
    t.join(5)


def run_bounded(run, budget):
    """Runs run() (returns the exit status) with a hard limit of budget
    seconds, then exits with its status (os._exit: GStreamer's threads
    are not waited for)."""
    def watchdog():
        emit("error", stage="timeout", status=0,
             body=f"gave up after {budget:.0f} s")
        vanish(1)

    timer = threading.Timer(budget, watchdog)
    timer.daemon = True
    timer.start()
    try:
        rc = run()
    except Exception as e:  # noqa: BLE001
        emit("error", stage="exception", status=0, body=repr(e))
        rc = 1
    vanish(rc)
