"""aiortc 1.4 (Debian's python3-aiortc) as the aiortc clients use it here:
ICE on loopback, and the steps around an RTCPeerConnection that the
publisher and the viewer share (offer, answer, connection and DTLS
state, the end of a session). Import it before aiortc: it patches
aioice, which aiortc imports."""

import asyncio
import os
import signal
import struct
import sys
import time

import aioice.ice

# aioice skips loopback addresses: gather on 127.0.0.1 only
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from aiortc import RTCSessionDescription  # noqa: E402

from whip import delete, emit, offer_summary, read_answer, vanish  # noqa: E402


def report_states(pc):
    """Prints {"event":"state","ice":..,"connection":..} on every change."""
    last = {}

    def report():
        now = {"ice": pc.iceConnectionState,
               "connection": pc.connectionState}
        if now != last:
            last.update(now)
            emit("state", **now)

    pc.on("connectionstatechange", report)
    pc.on("iceconnectionstatechange", report)


async def local_offer(pc, args, **summary):
    """The offer, printed as {"event":"offer",..} (plus summary); with
    --print-offer the SDP itself is printed, pc closed and None
    returned."""
    offer = await pc.createOffer()
    # aiortc gathers all candidates here (bounded by its own timers)
    await asyncio.wait_for(pc.setLocalDescription(offer), args.connect_timeout)
    sdp = pc.localDescription.sdp
    if args.print_offer:
        sys.stdout.write(sdp)
        sys.stdout.flush()
        await pc.close()
        return None
    emit("offer", **offer_summary(sdp), **summary)
    return sdp


async def accept_answer(pc, url, response, headers, **extra):
    """Reads the POST's (status, headers, body) with whip.read_answer and
    applies the answer. Returns (session URL, 0), or (None, exit status)
    after an error event, pc closed: 2 for an HTTP error, 1 for an answer
    aiortc refuses (the session is deleted)."""
    got = read_answer(url, *response, **extra)
    if got is None:
        await pc.close()
        return None, 2
    session_url, sdp = got
    try:
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=sdp, type="answer"))
    except Exception as e:  # noqa: BLE001
        emit("error", stage="answer", status=response[0], body=str(e))
        await delete(session_url, headers, report=False)
        await pc.close()
        return None, 1
    return session_url, 0


def dtls_state(pc):
    """"closed" or "failed" if any DTLS transport is, else "connected"
    (or the first other state seen)."""
    states = set()
    for t in pc.getTransceivers():
        for end in (t.sender, t.receiver):
            if end is not None and end.transport is not None:
                states.add(end.transport.state)
    if pc.sctp is not None and pc.sctp.transport is not None:
        states.add(pc.sctp.transport.state)
    for bad in ("failed", "closed"):
        if bad in states:
            return bad
    states.discard("connected")
    return states.pop() if states else "connected"


def lost(pc):
    """Whether the connection is lost, printed as {"event":"disconnected"}.
    aiortc keeps connectionState "connected" when the server ends DTLS
    (close_notify): the DTLS transports tell."""
    dtls = dtls_state(pc)
    if pc.connectionState == "connected" and dtls == "connected":
        return False
    emit("disconnected", connection=pc.connectionState,
         ice=pc.iceConnectionState, dtls=dtls)
    return True


async def wait_connected(pc, timeout):
    """connectionState "connected" within timeout seconds; else an error
    event and False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pc.connectionState == "connected":
            return True
        if pc.connectionState in ("failed", "closed"):
            break
        await asyncio.sleep(0.05)
    emit("error", stage="connect", status=201,
         body=f"not connected after {timeout} s "
              f"(connection {pc.connectionState}, "
              f"ice {pc.iceConnectionState})")
    return False


def stop_signal():
    """An event that SIGUSR1 sets: tests end the sending or watching
    phase early with it."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, stop.set)
    return stop


async def close(pc, tasks=()):
    """Cancels the tasks and closes the connection (DTLS close_notify),
    waiting at most 5 s."""
    for t in tasks:
        t.cancel()
    try:
        await asyncio.wait_for(pc.close(), 5)
    except asyncio.TimeoutError:
        pass


async def end(pc, session_url, headers, rc, args, tasks=()):
    """The end of a session: --no-delete exits at once (a peer that
    vanished); --close-no-delete closes the connection without DELETE,
    prints {"event":"closed"} and waits --linger seconds; else DELETE
    (a status other than 200 makes rc 2) and close. Returns rc."""
    if args.no_delete:
        vanish(rc)
    if args.close_no_delete:
        await close(pc, tasks)
        emit("closed", connection=pc.connectionState)
        await asyncio.sleep(args.linger)
        return rc
    status = await delete(session_url, headers)
    if status != 200 and rc == 0:
        rc = 2
    await close(pc, tasks)
    return rc


async def ssrc_flood(pc, count, rtcp=False):
    """Sends count packets, each from its own SSRC (0x5eed0000 + i) and
    protected with the session's SRTP keys, as a hostile peer would: RTP
    of payload type 35 (negotiated by no one) from a publisher, or (rtcp)
    an empty receiver report from a viewer. Paced in bursts of 50, so
    that loopback's socket buffers lose none. Prints {"event":
    "ssrc_flood","packets":count}."""
    dtls = pc.getTransceivers()[0].receiver.transport
    for i in range(count):
        ssrc = 0x5EED0000 + i
        if rtcp:
            data = struct.pack("!BBHL", 0x80, 201, 1, ssrc)
        else:
            data = struct.pack("!BBHLL", 0x80, 35, i & 0xFFFF, i * 3000,
                               ssrc) + os.urandom(100)
        await dtls._send_rtp(data)
        if i % 50 == 49:
            await asyncio.sleep(0.01)
    emit("ssrc_flood", packets=count)
