#!/bin/sh
# Builds nginx from Debian's full source with the module linked in
# statically (--add-module) into build/static/nginx.
#
#   tools/static-build.sh          build/static/nginx
#   tools/static-build.sh asan     build/asan/nginx: AddressSanitizer and
#                                  UBSan, every pool allocation a malloc
#                                  (NGX_DEBUG_PALLOC) so that ASan sees
#                                  overflows inside pools
#
# Only a failed source download skips the build (exit 0 with a message);
# any build failure fails.

set -e

top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/build/static-src
version=${NGINX_SOURCE_VERSION:-1.22.1-9+deb12u9}

case "${1:-static}" in
    static)
        out=$top/build/static
        cc=cc
        extra_pkgs=
        cc_opt=
        ld_opt=
        ;;
    asan)
        # clang: one runtime for both sanitizers, so that UBSan reports
        # also go to log_path (gcc's separate libubsan writes to stderr)
        out=$top/build/asan
        cc=clang
        extra_pkgs="clang libclang-rt-14-dev llvm-14"
        sanitize="-fsanitize=address,undefined"
        # not nonnull-attribute: nginx copies empty strings (data NULL,
        # len 0) with memcpy, in its core (ngx_pstrdup) as in this module;
        # C2y makes that defined, and it was all this check reported
        cc_opt="$sanitize -fno-sanitize=nonnull-attribute"
        cc_opt="$cc_opt -fno-omit-frame-pointer -g -O1 -DNGX_DEBUG_PALLOC=1"
        ld_opt=$sanitize
        ;;
    *)
        echo "usage: $0 [static|asan]" >&2
        exit 2
        ;;
esac

"$top/tools/install-deps.sh" build

for p in dpkg-dev libpcre2-dev zlib1g-dev $extra_pkgs; do
    dpkg-query -W -f '${Status}\n' $p 2>/dev/null | grep -q 'ok installed' \
        || missing="$missing $p"
done

if [ -n "$missing" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi

mkdir -p "$src" "$out"
cd "$src"

tree=$(ls -d nginx-1.*/ 2>/dev/null | head -1)

if [ -z "$tree" ]; then
    if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ \
       && ! grep -qs '^deb-src' /etc/apt/sources.list
    then
        cat > /etc/apt/sources.list.d/nginx-webrtc-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi

    apt-get update -qq || true

    if ! apt-get source -qq "nginx=$version" > "$src/download.log" 2>&1; then
        tail -5 "$src/download.log"
        echo "SKIPPED: static build: the nginx $version source could not be downloaded"
        exit 0
    fi

    tree=$(ls -d nginx-1.*/ | head -1)
fi

cd "$tree"

if [ ! -f "$out/Makefile" ] || [ "$top/config" -nt "$out/Makefile" ] \
   || [ "$top/tools/static-build.sh" -nt "$out/Makefile" ]
then
    ./configure --prefix=/usr/share/nginx --builddir="$out" --with-cc="$cc" \
        --with-cc-opt="$cc_opt" --with-ld-opt="$ld_opt" \
        --with-debug --with-threads --with-http_ssl_module \
        --with-http_auth_request_module --with-http_realip_module \
        --with-http_stub_status_module \
        --add-module="$top" > "$out/configure.log" \
        || { tail -30 "$out/configure.log"; exit 1; }
fi

make -f "$out/Makefile" -j2 > "$out/make.log" 2>&1 \
    || { tail -40 "$out/make.log"; exit 1; }

echo "${1:-static} nginx: $out/nginx"
"$out/nginx" -V 2>&1 | head -1
