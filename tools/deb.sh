#!/bin/bash
# Builds libnginx-mod-http-webrtc_<version>_<arch>.deb from the module
# built against Debian's nginx (make module), the way Debian packages its
# nginx modules: the .so in /usr/lib/nginx/modules/, a load snippet in
# /usr/share/nginx/modules-available/ that the maintainer scripts link
# into /etc/nginx/modules-enabled/, a dependency on the exact nginx ABI
# it was built for and on its shared libraries.
#
# Usage: tools/deb.sh <module.so> <out dir>

set -euo pipefail

so=$1
out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
pkg=libnginx-mod-http-webrtc
arch=$(dpkg --print-architecture)

# the version: the last commit's date and hash, or a plain one
if git -C "$top" rev-parse HEAD >/dev/null 2>&1; then
    version=0.1.0+git$(git -C "$top" log -1 --format=%cd \
              --date=format:%Y%m%d).$(git -C "$top" log -1 --format=%h)
else
    version=0.1.0
fi

# nginx-abi-<version>-<n>: what Debian's nginx provides for modules
abi=$(dpkg-query -W -f '${Provides}\n' nginx 2>/dev/null \
      | tr ',' '\n' | tr -d ' ' | grep '^nginx-abi-' | head -1 || true)
if [ -z "$abi" ]; then
    echo "$0: Debian's nginx package is not installed: no nginx ABI" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root

install -d "$root/DEBIAN" "$root/usr/lib/nginx/modules" \
    "$root/usr/share/nginx/modules-available" "$root/usr/share/doc/$pkg"
install -m 644 "$so" "$root/usr/lib/nginx/modules/ngx_http_webrtc_module.so"
strip --strip-unneeded "$root/usr/lib/nginx/modules/ngx_http_webrtc_module.so"
install -m 644 "$top/tools/deb/mod-http-webrtc.conf" \
    "$root/usr/share/nginx/modules-available/"
install -m 644 "$top/tools/deb/README.Debian" "$root/usr/share/doc/$pkg/"
install -m 755 "$top/tools/deb/postinst" "$top/tools/deb/prerm" \
    "$top/tools/deb/postrm" "$root/DEBIAN/"

# the shared libraries' packages and versions, as dh_shlibdeps finds them
mkdir -p "$work/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" \
    > "$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O \
             "root/usr/lib/nginx/modules/ngx_http_webrtc_module.so" \
             2>/dev/null | sed -n 's/^shlibs:Depends=//p')

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)

sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$abi, $shlibs/" -e "s/@ABI@/$abi/" \
    "$top/tools/deb/control.in" > "$root/DEBIAN/control"

(cd "$root" && find usr -type f -exec md5sum {} + > DEBIAN/md5sums)

mkdir -p "$out"
deb=$out/${pkg}_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
