#!/bin/sh
# Run a command inside a private network namespace with only the loopback
# interface up, so that end-to-end tests cannot reach (or be reached from)
# anything outside this machine, and ports never clash with the host.
#
#   tools/netns.sh prove -r t/
#
# Needs root (or CAP_SYS_ADMIN). Set WEBRTC_NETNS=0 to run the command on the
# host network instead (tests then need WEBRTC_ALLOW_HOST_NET=1).

set -e

if [ $# -eq 0 ]; then
    echo "usage: $0 command [args...]" >&2
    exit 64
fi

if [ "${WEBRTC_NETNS:-1}" = 0 ]; then
    exec "$@"
fi

if ! command -v unshare >/dev/null 2>&1; then
    echo "$0: unshare(1) not found (util-linux)" >&2
    exit 1
fi
if ! command -v ip >/dev/null 2>&1; then
    echo "$0: ip(8) not found (iproute2)" >&2
    exit 1
fi

# probe first, so that a refusal gives a clear message rather than
# the command's own failure
if ! unshare -n -- true 2>/dev/null; then
    echo "$0: cannot create a network namespace (unshare -n failed:" \
         "run as root or with CAP_SYS_ADMIN, or set WEBRTC_NETNS=0" \
         "and WEBRTC_ALLOW_HOST_NET=1 to use the host network)" >&2
    exit 1
fi

exec unshare -n -- sh -c 'ip link set lo up && exec "$@"' sh "$@"
