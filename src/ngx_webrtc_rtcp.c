/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * RTCP, in plaintext (after SRTCP unprotect, before SRTCP protect): the
 * compound packets of a peer summarised (reports, PLI, FIR, generic NACK,
 * BYE), and the packets the server sends itself (RR, SR, PLI, FIR).
 */

#include "ngx_webrtc_rtcp.h"


#define NGX_WEBRTC_RTCP_SR             200
#define NGX_WEBRTC_RTCP_RR             201
#define NGX_WEBRTC_RTCP_BYE            203
#define NGX_WEBRTC_RTCP_RTPFB          205
#define NGX_WEBRTC_RTCP_PSFB           206


static int ngx_webrtc_rtcp_check(u_char *p, size_t len, size_t *body);
static void ngx_webrtc_rtcp_report(ngx_webrtc_rtcp_info_t *info, u_char *p);


/*
 * Checks one RTCP header at p; returns its length in bytes and sets *body
 * to the length without padding, or -1.
 */

static int
ngx_webrtc_rtcp_check(u_char *p, size_t len, size_t *body)
{
    size_t  n, pad;

    if (len < 4 || (p[0] >> 6) != 2 || p[1] < 192 || p[1] > 223) {
        return -1;
    }

    n = ((size_t) ngx_webrtc_be16(p + 2) + 1) * 4;

    if (n > len) {
        return -1;
    }

    pad = 0;

    if (p[0] & 0x20) {
        pad = p[n - 1];

        if (pad == 0 || pad > n - 4) {
            return -1;
        }
    }

    *body = n - pad;

    return (int) n;
}


static void
ngx_webrtc_rtcp_report(ngx_webrtc_rtcp_info_t *info, u_char *p)
{
    uint32_t                   lost;
    ngx_webrtc_rtcp_report_t  *r;

    if (info->nreports >= NGX_WEBRTC_RTCP_MAX_REPORTS) {
        return;
    }

    r = &info->reports[info->nreports++];

    r->ssrc = ngx_webrtc_be32(p);
    r->fraction_lost = p[4];

    /* 24-bit two's complement */
    lost = ngx_webrtc_be24(p + 5);
    r->cumulative_lost = (lost & 0x800000) ? (int32_t) lost - 0x1000000
                                           : (int32_t) lost;

    r->highest_seq = ngx_webrtc_be32(p + 8);
    r->jitter = ngx_webrtc_be32(p + 12);
    r->lsr = ngx_webrtc_be32(p + 16);
    r->dlsr = ngx_webrtc_be32(p + 20);
}


int
ngx_webrtc_rtcp_parse(ngx_webrtc_rtcp_info_t *info, u_char *p, size_t len)
{
    int       n;
    size_t    body;
    unsigned  i, count;

    memset(info, 0, sizeof(ngx_webrtc_rtcp_info_t));

    if (len < 4) {
        return -1;
    }

    /* reduced-size RTCP (RFC 5506) may start with any packet type */

    while (len) {
        n = ngx_webrtc_rtcp_check(p, len, &body);
        if (n < 0) {
            return -1;
        }

        count = p[0] & 0x1f;

        switch (p[1]) {

        case NGX_WEBRTC_RTCP_SR:
            if (body < 28 + (size_t) count * 24) {
                return -1;
            }

            info->has_sr = 1;
            info->sr_ssrc = ngx_webrtc_be32(p + 4);
            info->sr_ntp = ((uint64_t) ngx_webrtc_be32(p + 8) << 32)
                           | ngx_webrtc_be32(p + 12);
            info->sr_rtp_ts = ngx_webrtc_be32(p + 16);
            info->sr_packets = ngx_webrtc_be32(p + 20);
            info->sr_octets = ngx_webrtc_be32(p + 24);

            for (i = 0; i < count; i++) {
                ngx_webrtc_rtcp_report(info, p + 28 + i * 24);
            }

            break;

        case NGX_WEBRTC_RTCP_RR:
            if (body < 8 + (size_t) count * 24) {
                return -1;
            }

            for (i = 0; i < count; i++) {
                ngx_webrtc_rtcp_report(info, p + 8 + i * 24);
            }

            break;

        case NGX_WEBRTC_RTCP_BYE:
            info->bye = 1;
            break;

        case NGX_WEBRTC_RTCP_RTPFB:
            if (body < 12) {
                return -1;
            }

            if (count == 1) {
                info->nack_packets++;
            }

            break;

        case NGX_WEBRTC_RTCP_PSFB:
            if (body < 12) {
                return -1;
            }

            if (count == 1) {
                info->pli++;
                info->pli_ssrc = ngx_webrtc_be32(p + 8);

            } else if (count == 4) {
                if (body < 20) {
                    return -1;
                }

                info->fir++;
            }

            break;

        default:
            /* SDES, APP, XR, ...: skipped by length */
            break;
        }

        p += n;
        len -= n;
    }

    return 0;
}


int
ngx_webrtc_rtcp_nacks(u_char *p, size_t len, unsigned max,
    void (*handler)(void *data, uint32_t media_ssrc, uint16_t pid,
    uint16_t blp), void *data)
{
    int        n;
    u_char    *q;
    size_t     rest, body, off;
    unsigned   seen;
    uint32_t   media_ssrc;

    if (len < 4) {
        return -1;
    }

    /* validate all first: no callbacks for a packet that is refused */

    for (q = p, rest = len; rest; q += n, rest -= n) {
        n = ngx_webrtc_rtcp_check(q, rest, &body);
        if (n < 0) {
            return -1;
        }

        if (q[1] == NGX_WEBRTC_RTCP_RTPFB && body < 12) {
            return -1;
        }
    }

    seen = 0;

    while (len && seen < max) {
        n = ngx_webrtc_rtcp_check(p, len, &body);

        if (p[1] == NGX_WEBRTC_RTCP_RTPFB && (p[0] & 0x1f) == 1) {
            media_ssrc = ngx_webrtc_be32(p + 8);

            for (off = 12; off + 4 <= body && seen < max; off += 4) {
                handler(data, media_ssrc, ngx_webrtc_be16(p + off),
                        ngx_webrtc_be16(p + off + 2));
                seen++;
            }
        }

        p += n;
        len -= n;
    }

    return (int) seen;
}


size_t
ngx_webrtc_rtcp_write_rr(u_char *buf, size_t size, uint32_t ssrc,
    uint32_t media_ssrc, ngx_webrtc_rtp_source_t *s, uint32_t lsr,
    uint32_t dlsr)
{
    u_char    *p;
    uint32_t   extended_max, expected, lost, expected_interval,
               received_interval, lost_interval, fraction;

    if (s == NULL) {
        if (size < 8) {
            return 0;
        }

        buf[0] = 0x80;
        buf[1] = NGX_WEBRTC_RTCP_RR;
        buf[2] = 0;
        buf[3] = 1;
        (void) ngx_webrtc_put32(buf + 4, ssrc);

        return 8;
    }

    if (size < 32) {
        return 0;
    }

    extended_max = 0;
    lost = 0;
    fraction = 0;

    if (s->started && !s->probation) {
        extended_max = s->cycles + s->max_seq;
        expected = extended_max - s->base_seq + 1;

        /* clamp to the signed 24-bit field */
        lost = expected - s->received;

        if (lost & 0x80000000) {
            lost = (0 - lost > 0x800000) ? 0x800000 : lost & 0xffffff;

        } else if (lost > 0x7fffff) {
            lost = 0x7fffff;
        }

        expected_interval = expected - s->expected_prior;
        s->expected_prior = expected;
        received_interval = s->received - s->received_prior;
        s->received_prior = s->received;
        lost_interval = expected_interval - received_interval;

        if (expected_interval != 0 && lost_interval != 0
            && !(lost_interval & 0x80000000))
        {
            fraction = ((uint64_t) lost_interval << 8) / expected_interval;

            if (fraction > 255) {
                fraction = 255;
            }
        }
    }

    p = buf;

    *p++ = 0x81;                               /* V=2, RC=1 */
    *p++ = NGX_WEBRTC_RTCP_RR;
    *p++ = 0;
    *p++ = 7;
    p = ngx_webrtc_put32(p, ssrc);
    p = ngx_webrtc_put32(p, media_ssrc);
    p = ngx_webrtc_put32(p, (fraction << 24) | (lost & 0xffffff));
    p = ngx_webrtc_put32(p, extended_max);
    p = ngx_webrtc_put32(p, s->jitter >> 4);
    p = ngx_webrtc_put32(p, lsr);
    p = ngx_webrtc_put32(p, dlsr);

    return p - buf;
}


size_t
ngx_webrtc_rtcp_write_pli(u_char *buf, size_t size, uint32_t ssrc,
    uint32_t media_ssrc)
{
    if (size < 12) {
        return 0;
    }

    buf[0] = 0x81;                             /* V=2, FMT=1 */
    buf[1] = NGX_WEBRTC_RTCP_PSFB;
    buf[2] = 0;
    buf[3] = 2;
    (void) ngx_webrtc_put32(buf + 4, ssrc);
    (void) ngx_webrtc_put32(buf + 8, media_ssrc);

    return 12;
}


/* a sender report with no report blocks (RFC 3550 6.4.1) */

size_t
ngx_webrtc_rtcp_write_sr(u_char *buf, size_t size, uint32_t ssrc,
    uint64_t ntp, uint32_t rtp_ts, uint32_t packets, uint32_t octets)
{
    u_char  *p;

    if (size < 28) {
        return 0;
    }

    buf[0] = 0x80;
    buf[1] = NGX_WEBRTC_RTCP_SR;
    buf[2] = 0;
    buf[3] = 6;

    p = ngx_webrtc_put32(buf + 4, ssrc);
    p = ngx_webrtc_put32(p, (uint32_t) (ntp >> 32));
    p = ngx_webrtc_put32(p, (uint32_t) ntp);
    p = ngx_webrtc_put32(p, rtp_ts);
    p = ngx_webrtc_put32(p, packets);
    (void) ngx_webrtc_put32(p, octets);

    return 28;
}


size_t
ngx_webrtc_rtcp_write_fir(u_char *buf, size_t size, uint32_t ssrc,
    uint32_t media_ssrc, uint8_t seq_nr)
{
    if (size < 20) {
        return 0;
    }

    buf[0] = 0x84;                             /* V=2, FMT=4 */
    buf[1] = NGX_WEBRTC_RTCP_PSFB;
    buf[2] = 0;
    buf[3] = 4;
    (void) ngx_webrtc_put32(buf + 4, ssrc);

    /* RFC 5104 4.3.1: media source is 0, the target is in the FCI */
    (void) ngx_webrtc_put32(buf + 8, 0);
    (void) ngx_webrtc_put32(buf + 12, media_ssrc);
    buf[16] = seq_nr;
    buf[17] = 0;
    buf[18] = 0;
    buf[19] = 0;

    return 20;
}
