#!/bin/sh
# Runs Debian's nginx in the foreground with conf/nginx.conf and the module
# from build/modules, under the prefix build/run/.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=$top/build/run
mkdir -p "$prefix/logs" "$prefix/tmp" "$prefix/recordings"
# the workers (nobody, when nginx starts as root) write the recordings
chmod 0777 "$prefix/recordings"
nginx=${WEBRTC_NGINX:-/usr/sbin/nginx}
unset NGINX    # nginx reads inherited sockets from it
"$nginx" -p "$prefix/" -c "$top/conf/nginx.conf" -t -q
echo "nginx: http://127.0.0.1:8080/ (publish: /publish.html, status: /webrtc/status)"
echo "logs:  $prefix/logs/error.log; stop with Ctrl-C"
exec "$nginx" -p "$prefix/" -c "$top/conf/nginx.conf" -g 'daemon off;'
