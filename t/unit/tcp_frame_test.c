
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * The RFC 4571 reader: packets whole in one read, split over reads at
 * every byte, several in one read, and the lengths that close a stream.
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_webrtc_tcp_frame.h"

#include "tap.h"


/* feeds s in pieces of step bytes; the packets found, joined by '|' */

static int
feed(u_char *s, size_t n, size_t step, char *out, size_t out_size)
{
    u_char                  *pkt;
    size_t                   len, k, used;
    ssize_t                  rc;
    ngx_webrtc_tcp_frame_t   f;

    memset(&f, 0, sizeof(f));
    used = 0;
    out[0] = '\0';

    while (n) {
        k = step < n ? step : n;

        while (k) {
            rc = ngx_webrtc_tcp_frame_read(&f, s, k, &pkt, &len);
            if (rc < 0) {
                return -1;
            }

            if (rc == 0 && pkt == NULL) {
                return -2;   /* no progress: would loop */
            }

            s += rc;
            n -= rc;
            k -= rc;

            if (pkt) {
                if (used + len + 2 > out_size) {
                    return -3;
                }

                memcpy(out + used, pkt, len);
                used += len;
                out[used++] = '|';
                out[used] = '\0';
            }
        }
    }

    return 0;
}


int
main(void)
{
    char     out[8192];
    size_t   step;
    u_char   big[2 + NGX_WEBRTC_TCP_FRAME_MAX];
    u_char   two[] = "\x00\x03" "abc" "\x00\x01" "z";
    int      all;

    ok(feed((u_char *) "\x00\x03" "abc", 5, 5, out, sizeof(out)) == 0
       && strcmp(out, "abc|") == 0, "one packet in one read");

    all = 1;
    for (step = 1; step <= 8; step++) {
        if (feed(two, 8, step, out, sizeof(out)) != 0
            || strcmp(out, "abc|z|") != 0)
        {
            all = 0;
        }
    }

    ok(all, "two packets, read 1 to 8 bytes at a time");

    ok(feed((u_char *) "\x00\x00", 2, 2, out, sizeof(out)) == -1,
       "length 0 closes");

    big[0] = NGX_WEBRTC_TCP_FRAME_MAX >> 8;
    big[1] = NGX_WEBRTC_TCP_FRAME_MAX & 0xff;
    memset(big + 2, 'x', NGX_WEBRTC_TCP_FRAME_MAX);

    ok(feed(big, sizeof(big), 7, out, sizeof(out)) == 0
       && strlen(out) == NGX_WEBRTC_TCP_FRAME_MAX + 1,
       "the largest packet, split");

    big[1]++;
    ok(feed(big, sizeof(big), 7, out, sizeof(out)) == -1,
       "one byte above the largest closes");

    ok(feed((u_char *) "\xff\xff", 2, 1, out, sizeof(out)) == -1,
       "65535 closes");

    ok(feed((u_char *) "\x00\x05" "ab", 4, 4, out, sizeof(out)) == 0
       && out[0] == '\0', "a partial packet is held");

    return done_testing();
}
