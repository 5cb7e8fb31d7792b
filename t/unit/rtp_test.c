/*
 * Copyright (C) nginx WebRTC module authors
 *
 * Unit tests of ngx_webrtc_rtp.c and ngx_webrtc_rtcp.c, TAP output.
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_webrtc_rtp.h"
#include "ngx_webrtc_rtcp.h"

#include "tap.h"


#define L(a)     a, sizeof(a)


static int
rtp_parse(ngx_webrtc_rtp_t *rtp, u_char *p, size_t len)
{
    static u_char  buf[2048];

    /* the parsed pointers must stay valid after return */
    memcpy(buf, p, len);
    return ngx_webrtc_rtp_parse(rtp, buf, len);
}


static void
test_rtp(void)
{
    size_t            n;
    u_char           *e;
    ngx_webrtc_rtp_t  rtp;

    /* V=2 P X CC=2, M, PT 96, one-byte extensions, 3 bytes of padding */
    static u_char  pkt[] = {
        0xb2, 0xe0, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04,
        0xaa, 0xbb, 0xcc, 0xdd,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,      /* CSRCs */
        0xbe, 0xde, 0x00, 0x03,
        0x10, 0x30,                                        /* id 1: "0" */
        0x00, 0x00,                                        /* padding */
        0x32, 0x01, 0x02, 0x03,                            /* id 3, 3 B */
        0x00, 0x00, 0x00, 0x00,
        'p', 'a', 'y',
        0x00, 0x00, 0x03
    };

    /* two-byte header extensions (RFC 8285 4.3) */
    static u_char  two[] = {
        0x90, 0x6f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x01,
        0x10, 0x00, 0x00, 0x02,
        0x05, 0x00, 0x00, 0x07, 0x03, 'a', 'b', 'c',
        0x42
    };

    static u_char  plain[] = {
        0x80, 0x6f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x01
    };

    u_char  bad[64];

    ok(rtp_parse(&rtp, pkt, sizeof(pkt)) == 0, "rtp: parse");
    ok(rtp.marker && rtp.padding && rtp.extension && rtp.pt == 96
       && rtp.seq == 0xfffe && rtp.ts == 0x01020304
       && rtp.ssrc == 0xaabbccdd, "rtp: header fields");
    ok(rtp.ext_profile == 0xbede && rtp.ext_len == 12,
       "rtp: extension block");
    ok(rtp.payload_len == 3 && memcmp(rtp.payload, "pay", 3) == 0,
       "rtp: payload after CSRCs and extension, padding removed");

    e = ngx_webrtc_rtp_ext_find(&rtp, 1, &n);
    ok(e != NULL && n == 1 && e[0] == '0', "rtp: one-byte ext id 1");
    e = ngx_webrtc_rtp_ext_find(&rtp, 3, &n);
    ok(e != NULL && n == 3 && e[0] == 1 && e[2] == 3,
       "rtp: one-byte ext id 3 after padding");
    ok(ngx_webrtc_rtp_ext_find(&rtp, 2, &n) == NULL
       && ngx_webrtc_rtp_ext_find(&rtp, 0, &n) == NULL
       && ngx_webrtc_rtp_ext_find(&rtp, 15, &n) == NULL,
       "rtp: missing ext ids");

    ok(rtp_parse(&rtp, two, sizeof(two)) == 0 && rtp.ext_profile == 0x1000,
       "rtp: two-byte ext parse");
    e = ngx_webrtc_rtp_ext_find(&rtp, 5, &n);
    ok(e != NULL && n == 0, "rtp: two-byte ext, empty element");
    e = ngx_webrtc_rtp_ext_find(&rtp, 7, &n);
    ok(e != NULL && n == 3 && memcmp(e, "abc", 3) == 0,
       "rtp: two-byte ext id 7");
    ok(rtp.payload_len == 1 && rtp.payload[0] == 0x42,
       "rtp: two-byte ext payload");

    ok(rtp_parse(&rtp, plain, sizeof(plain)) == 0 && rtp.payload_len == 0
       && rtp.ext == NULL
       && ngx_webrtc_rtp_ext_find(&rtp, 1, &n) == NULL,
       "rtp: bare header, empty payload");

    memcpy(bad, pkt, sizeof(pkt));
    bad[0] = 0x72;
    ok(rtp_parse(&rtp, bad, sizeof(pkt)) == -1, "rtp: version 1 refused");

    ok(rtp_parse(&rtp, pkt, 11) == -1, "rtp: short header refused");
    ok(rtp_parse(&rtp, pkt, 19) == -1, "rtp: truncated CSRC refused");
    ok(rtp_parse(&rtp, pkt, 30) == -1, "rtp: truncated extension refused");

    memcpy(bad, pkt, sizeof(pkt));
    bad[sizeof(pkt) - 1] = 0;
    ok(rtp_parse(&rtp, bad, sizeof(pkt)) == -1, "rtp: padding 0 refused");
    bad[sizeof(pkt) - 1] = 7;
    ok(rtp_parse(&rtp, bad, sizeof(pkt)) == -1,
       "rtp: padding beyond payload refused");
    bad[sizeof(pkt) - 1] = 6;
    ok(rtp_parse(&rtp, bad, sizeof(pkt)) == 0 && rtp.payload_len == 0,
       "rtp: padding of the whole payload");

    memcpy(bad, plain, sizeof(plain));
    bad[0] = 0x8f;
    ok(rtp_parse(&rtp, bad, sizeof(plain)) == -1,
       "rtp: CSRC count beyond packet refused");
}


typedef struct {
    unsigned  n;
    uint32_t  ssrc[8];
    uint16_t  pid[8];
    uint16_t  blp[8];
} nacks_t;


static void
nack_handler(void *data, uint32_t media_ssrc, uint16_t pid, uint16_t blp)
{
    nacks_t  *nk = data;

    if (nk->n < 8) {
        nk->ssrc[nk->n] = media_ssrc;
        nk->pid[nk->n] = pid;
        nk->blp[nk->n] = blp;
    }

    nk->n++;
}


static void
test_rtcp(void)
{
    int                     rc;
    size_t                  n;
    u_char                  buf[256];
    nacks_t                 nk;
    ngx_webrtc_rtcp_info_t  info;

    /* Chromium: SR with one report block, then SDES CNAME */
    static u_char  sr_sdes[] = {
        0x81, 0xc8, 0x00, 0x0c,
        0x11, 0x22, 0x33, 0x44,                            /* sender */
        0xe9, 0x0f, 0x10, 0x20, 0x80, 0x00, 0x00, 0x00,    /* NTP */
        0x00, 0x01, 0x5f, 0x90,                            /* RTP ts */
        0x00, 0x00, 0x01, 0x00,                            /* packets */
        0x00, 0x01, 0x00, 0x00,                            /* octets */
        0xaa, 0xbb, 0xcc, 0xdd,                            /* block */
        0x19, 0xff, 0xff, 0xfe,
        0x00, 0x01, 0x03, 0xe8,
        0x00, 0x00, 0x00, 0x20,
        0x10, 0x20, 0x30, 0x40,
        0x00, 0x00, 0x80, 0x00,
        0x81, 0xca, 0x00, 0x06,
        0x11, 0x22, 0x33, 0x44,
        0x01, 0x10, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j',
        'k', 'l', 'm', 'n', 'o', 'p', 0x00, 0x00
    };

    /* RR (no block) + REMB + generic NACK with two FCI + XR */
    static u_char  rr_nack[] = {
        0x80, 0xc9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
        0x8f, 0xce, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 'R', 'E', 'M', 'B',
        0x01, 0x0a, 0x12, 0x34, 0xaa, 0xbb, 0xcc, 0xdd,
        0x81, 0xcd, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
        0xaa, 0xbb, 0xcc, 0xdd,
        0x03, 0xe8, 0x00, 0x05, 0xff, 0xff, 0x80, 0x00,
        0x80, 0xcf, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
        0x04, 0x00, 0x00, 0x00
    };

    /* reduced-size: PLI alone, then FIR alone, then BYE + APP */
    static u_char  pli[] = {
        0x81, 0xce, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
        0xaa, 0xbb, 0xcc, 0xdd
    };

    static u_char  fir[] = {
        0x84, 0xce, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0xaa, 0xbb, 0xcc, 0xdd,
        0x07, 0x00, 0x00, 0x00
    };

    static u_char  bye_app[] = {
        0x81, 0xcb, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44,
        0x80, 0xcc, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44,
        'n', 'a', 'm', 'e'
    };

    ok(ngx_webrtc_rtcp_parse(&info, L(sr_sdes)) == 0,
       "rtcp: SR+SDES compound");
    ok(info.has_sr && info.sr_ssrc == 0x11223344
       && info.sr_ntp == 0xe90f102080000000ULL && info.sr_rtp_ts == 90000
       && info.sr_packets == 256 && info.sr_octets == 65536,
       "rtcp: SR sender info");
    ok(info.nreports == 1 && info.reports[0].ssrc == 0xaabbccdd
       && info.reports[0].fraction_lost == 0x19
       && info.reports[0].cumulative_lost == -2
       && info.reports[0].highest_seq == 66536
       && info.reports[0].jitter == 32
       && info.reports[0].lsr == 0x10203040
       && info.reports[0].dlsr == 0x8000,
       "rtcp: SR report block, negative cumulative lost");
    ok(!info.pli && !info.fir && !info.nack_packets && !info.bye,
       "rtcp: SR+SDES has no feedback");

    ok(ngx_webrtc_rtcp_parse(&info, L(rr_nack)) == 0 && !info.has_sr
       && info.nreports == 0 && info.nack_packets == 1 && info.pli == 0,
       "rtcp: RR+REMB+NACK+XR compound");

    memset(&nk, 0, sizeof(nk));
    rc = ngx_webrtc_rtcp_nacks(L(rr_nack), 16, nack_handler, &nk);
    ok(rc == 2 && nk.n == 2 && nk.ssrc[0] == 0xaabbccdd
       && nk.pid[0] == 1000 && nk.blp[0] == 5 && nk.pid[1] == 0xffff
       && nk.blp[1] == 0x8000, "rtcp: NACK pairs");

    memset(&nk, 0, sizeof(nk));
    rc = ngx_webrtc_rtcp_nacks(L(rr_nack), 1, nack_handler, &nk);
    ok(rc == 1 && nk.n == 1, "rtcp: NACK pairs limited by max");

    memset(&nk, 0, sizeof(nk));
    rc = ngx_webrtc_rtcp_nacks(L(sr_sdes), 16, nack_handler, &nk);
    ok(rc == 0 && nk.n == 0, "rtcp: no NACK in SR+SDES");

    ok(ngx_webrtc_rtcp_parse(&info, L(pli)) == 0 && info.pli == 1
       && info.pli_ssrc == 0xaabbccdd && info.fir == 0,
       "rtcp: reduced-size PLI");
    ok(ngx_webrtc_rtcp_parse(&info, L(fir)) == 0 && info.fir == 1
       && info.pli == 0, "rtcp: reduced-size FIR");
    ok(ngx_webrtc_rtcp_parse(&info, L(bye_app)) == 0 && info.bye,
       "rtcp: BYE and APP");

    /* malformed */
    ok(ngx_webrtc_rtcp_parse(&info, sr_sdes, 0) == -1
       && ngx_webrtc_rtcp_parse(&info, sr_sdes, 3) == -1,
       "rtcp: short input refused");
    ok(ngx_webrtc_rtcp_parse(&info, sr_sdes, sizeof(sr_sdes) - 4) == -1,
       "rtcp: truncated SDES refused");
    memcpy(buf, sr_sdes, sizeof(sr_sdes));
    buf[sizeof(sr_sdes)] = 0x80;
    buf[sizeof(sr_sdes) + 1] = 0xc9;
    ok(ngx_webrtc_rtcp_parse(&info, buf, sizeof(sr_sdes) + 2) == -1,
       "rtcp: trailing partial header refused");

    memcpy(buf, sr_sdes, sizeof(sr_sdes));
    buf[0] = 0x41;
    ok(ngx_webrtc_rtcp_parse(&info, buf, sizeof(sr_sdes)) == -1,
       "rtcp: version 1 refused");

    memcpy(buf, sr_sdes, sizeof(sr_sdes));
    buf[0] = 0x83;
    ok(ngx_webrtc_rtcp_parse(&info, buf, sizeof(sr_sdes)) == -1,
       "rtcp: SR with more blocks than its length refused");

    memcpy(buf, sr_sdes, sizeof(sr_sdes));
    buf[3] = 0x30;
    ok(ngx_webrtc_rtcp_parse(&info, buf, sizeof(sr_sdes)) == -1,
       "rtcp: length beyond the datagram refused");

    memcpy(buf, pli, sizeof(pli));
    buf[0] = 0xa1;
    buf[11] = 0;
    ok(ngx_webrtc_rtcp_parse(&info, buf, sizeof(pli)) == -1,
       "rtcp: padding count 0 refused");
    buf[11] = 4;
    ok(ngx_webrtc_rtcp_parse(&info, buf, sizeof(pli)) == -1,
       "rtcp: PLI shortened by padding refused");

    memcpy(buf, pli, sizeof(pli));
    buf[1] = 96;
    ok(ngx_webrtc_rtcp_parse(&info, buf, sizeof(pli)) == -1,
       "rtcp: RTP payload type refused");

    memcpy(buf, pli, sizeof(pli));
    buf[3] = 1;
    ok(ngx_webrtc_rtcp_parse(&info, buf, 8) == -1,
       "rtcp: feedback without media ssrc refused");

    memset(&nk, 0, sizeof(nk));
    memcpy(buf, rr_nack, sizeof(rr_nack));
    buf[sizeof(rr_nack) - 9] = 0x09;
    rc = ngx_webrtc_rtcp_nacks(buf, sizeof(rr_nack), 16, nack_handler, &nk);
    ok(rc == -1 && nk.n == 0, "rtcp: NACK in a malformed compound ignored");

    /* builders */
    n = ngx_webrtc_rtcp_write_pli(buf, sizeof(buf), 1, 0x55667788);
    ok(n == 12 && ngx_webrtc_rtcp_parse(&info, buf, n) == 0 && info.pli == 1
       && info.pli_ssrc == 0x55667788, "rtcp: PLI builder");
    ok(ngx_webrtc_rtcp_write_pli(buf, 11, 1, 2) == 0,
       "rtcp: PLI builder, small buffer");

    n = ngx_webrtc_rtcp_write_fir(buf, sizeof(buf), 1, 0x55667788, 9);
    ok(n == 20 && ngx_webrtc_rtcp_parse(&info, buf, n) == 0 && info.fir == 1
       && memcmp(buf, "\x84\xce\x00\x04\x00\x00\x00\x01\x00\x00\x00\x00"
                      "\x55\x66\x77\x88\x09\x00\x00\x00", 20) == 0,
       "rtcp: FIR builder");
    ok(ngx_webrtc_rtcp_write_fir(buf, 19, 1, 2, 0) == 0,
       "rtcp: FIR builder, small buffer");

    n = ngx_webrtc_rtcp_write_rr(buf, sizeof(buf), 7, 8, NULL, 0, 0);
    ok(n == 8 && ngx_webrtc_rtcp_parse(&info, buf, n) == 0
       && info.nreports == 0, "rtcp: empty RR builder");
}


static void
test_stats(void)
{
    size_t                   n;
    u_char                   buf[64];
    uint32_t                 i, seq;
    unsigned                 bad;
    ngx_webrtc_rtcp_info_t   info;
    ngx_webrtc_rtp_source_t  s;

    memset(&s, 0, sizeof(s));

    bad = 0;
    for (i = 0; i < 100; i++) {
        bad += ngx_webrtc_rtp_source_update(&s, (uint16_t) (1000 + i),
                                            i * 3000, 5000 + i * 3000);
    }

    ok(bad == 0 && s.received == 100 && ngx_webrtc_rtp_source_lost(&s) == 0,
       "stats: 100 in order from the first packet, none lost");
    ok(s.jitter == 0, "stats: constant transit, no jitter");

    /* sequence wrap: 65530 .. 65535, 0 .. 9 */
    memset(&s, 0, sizeof(s));

    bad = 0;
    for (i = 0; i < 16; i++) {
        seq = (65530 + i) & 0xffff;
        bad += ngx_webrtc_rtp_source_update(&s, (uint16_t) seq,
                                            0xffffff00 + i * 30, i * 30);
    }

    ok(bad == 0 && s.cycles == 65536 && s.max_seq == 9
       && ngx_webrtc_rtp_source_lost(&s) == 0,
       "stats: sequence wrap 65535 -> 0");
    ok(s.jitter == 0, "stats: jitter with timestamp and arrival wrap");

    n = ngx_webrtc_rtcp_write_rr(buf, sizeof(buf), 1, 2, &s, 0, 0);
    ok(n == 32 && ngx_webrtc_rtcp_parse(&info, buf, n) == 0
       && info.nreports == 1 && info.reports[0].highest_seq == 65536 + 9
       && info.reports[0].fraction_lost == 0
       && info.reports[0].cumulative_lost == 0,
       "stats: RR extended highest sequence after wrap");

    /* a gap of 5, a duplicate, a late packet */
    memset(&s, 0, sizeof(s));

    for (i = 100; i <= 120; i++) {
        if (i >= 111 && i <= 115) {
            continue;
        }

        (void) ngx_webrtc_rtp_source_update(&s, (uint16_t) i, i * 90, i * 90);
    }

    ok(ngx_webrtc_rtp_source_lost(&s) == 5 && s.received == 16,
       "stats: gap of 5 lost");
    ok(ngx_webrtc_rtp_source_update(&s, 120, 120 * 90, 121 * 90) == 1
       && ngx_webrtc_rtp_source_update(&s, 117, 117 * 90, 121 * 90) == 1
       && s.received == 16 && ngx_webrtc_rtp_source_lost(&s) == 5,
       "stats: duplicates do not count");

    n = ngx_webrtc_rtcp_write_rr(buf, sizeof(buf), 1, 0xabcdef01, &s,
                                 0x11112222, 0x3333);
    ok(n == 32 && ngx_webrtc_rtcp_parse(&info, buf, n) == 0
       && info.nreports == 1 && info.reports[0].ssrc == 0xabcdef01
       && info.reports[0].fraction_lost == 5 * 256 / 21
       && info.reports[0].cumulative_lost == 5
       && info.reports[0].highest_seq == 120
       && info.reports[0].lsr == 0x11112222
       && info.reports[0].dlsr == 0x3333,
       "stats: RR fraction %u and cumulative lost %d",
       info.reports[0].fraction_lost, (int) info.reports[0].cumulative_lost);

    ok(ngx_webrtc_rtp_source_update(&s, 113, 113 * 90, 122 * 90) == 0
       && ngx_webrtc_rtp_source_lost(&s) == 4,
       "stats: a late packet is counted");
    ok(ngx_webrtc_rtp_source_update(&s, 113, 113 * 90, 122 * 90) == 1,
       "stats: and its duplicate is not");

    for (i = 121; i <= 130; i++) {
        (void) ngx_webrtc_rtp_source_update(&s, (uint16_t) i, i * 90, i * 90);
    }

    n = ngx_webrtc_rtcp_write_rr(buf, sizeof(buf), 1, 2, &s, 0, 0);
    ok(n == 32 && ngx_webrtc_rtcp_parse(&info, buf, n) == 0
       && info.reports[0].fraction_lost == 0
       && info.reports[0].cumulative_lost == 4,
       "stats: next interval without loss, fraction 0");

    ok(ngx_webrtc_rtcp_write_rr(buf, 31, 1, 2, &s, 0, 0) == 0,
       "stats: RR builder, small buffer");

    /* a packet older than the first one is not counted */
    memset(&s, 0, sizeof(s));
    (void) ngx_webrtc_rtp_source_update(&s, 1000, 0, 0);
    ok(ngx_webrtc_rtp_source_update(&s, 999, 0, 0) == 1
       && s.received == 1 && ngx_webrtc_rtp_source_lost(&s) == 0,
       "stats: packet before the first not counted");

    /* a sender restart: a big jump resyncs on the second packet */
    ok(ngx_webrtc_rtp_source_update(&s, 30000, 0, 0) == 1
       && ngx_webrtc_rtp_source_update(&s, 30001, 0, 0) == 0
       && s.base_seq == 30001 && s.received == 1
       && ngx_webrtc_rtp_source_lost(&s) == 0,
       "stats: resync after a jump");

    /* A.8: transit alternating by 30, so |D| is 30 and J converges to it */
    memset(&s, 0, sizeof(s));

    for (i = 0; i < 1000; i++) {
        (void) ngx_webrtc_rtp_source_update(&s, (uint16_t) i, i * 3000,
                                            i * 3000 + (i & 1) * 30);
    }

    ok((s.jitter >> 4) >= 28 && (s.jitter >> 4) <= 30,
       "stats: jitter %u for a 30 unit swing", s.jitter >> 4);

    /* arrival going backwards: |D| in uint32 must not explode */
    memset(&s, 0, sizeof(s));

    for (i = 0; i < 100; i++) {
        (void) ngx_webrtc_rtp_source_update(&s, (uint16_t) i, i * 3000,
                                            100000 - i * 10);
    }

    ok((s.jitter >> 4) > 2900 && (s.jitter >> 4) <= 3010,
       "stats: jitter %u with backward arrival", s.jitter >> 4);
}


/* RFC 8852 RtpStreamId elements, and a viewer moving to another layer */

static void
test_rid(void)
{
    ngx_webrtc_str_t        rid;
    ngx_webrtc_rtp_t        rtp;
    ngx_webrtc_out_index_t  o;

    /* one-byte: id 10 "q" (len 1), id 11 "hi" + NUL padding (len 3) */
    static u_char  pkt[] = {
        0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
        0x11, 0x22, 0x33, 0x44,
        0xbe, 0xde, 0x00, 0x02,
        0xa0, 'q', 0xb2, 'h', 'i', 0x00, 0x00, 0x00,
        0x01, 0x02
    };

    /* two-byte: id 10, "bad id" (a space) */
    static u_char  bad[] = {
        0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
        0x11, 0x22, 0x33, 0x44,
        0x10, 0x00, 0x00, 0x02,
        0x0a, 0x06, 'b', 'a', 'd', ' ', 'i', 'd',
        0x01
    };

    ok(rtp_parse(&rtp, L(pkt)) == NGX_WEBRTC_PARSE_OK, "rid: parses");
    ok(ngx_webrtc_rtp_rid(&rtp, 10, &rid) == NGX_WEBRTC_PARSE_OK
       && rid.len == 1 && rid.data[0] == 'q', "rid: q");
    ok(ngx_webrtc_rtp_rid(&rtp, 11, &rid) == NGX_WEBRTC_PARSE_OK
       && rid.len == 2 && memcmp(rid.data, "hi", 2) == 0,
       "rid: NUL padding cut");
    ok(ngx_webrtc_rtp_rid(&rtp, 12, &rid) == NGX_WEBRTC_PARSE_ERROR
       && ngx_webrtc_rtp_rid(&rtp, 0, &rid) == NGX_WEBRTC_PARSE_ERROR,
       "rid: absent");

    ok(rtp_parse(&rtp, L(bad)) == NGX_WEBRTC_PARSE_OK
       && ngx_webrtc_rtp_rid(&rtp, 10, &rid) == NGX_WEBRTC_PARSE_ERROR,
       "rid: not an id");

    /* the viewer's numbering goes on across a switch */
    ngx_webrtc_out_index_start(&o, 1000, 500);
    ok(ngx_webrtc_out_index(&o, 1000, 0) == 500
       && ngx_webrtc_out_index(&o, 1001, 0) == 501, "switch: before");
    ngx_webrtc_out_index_resume(&o, 77);
    ok(ngx_webrtc_out_index(&o, 77, 0) == 502
       && ngx_webrtc_out_index(&o, 78, 0) == 503, "switch: continuous");
    ok(ngx_webrtc_out_index(&o, 76, 1) == NGX_WEBRTC_INDEX_NONE,
       "switch: nothing before it is resent");
}


int
main(void)
{
    test_rid();
    test_rtp();
    test_rtcp();
    test_stats();

    return done_testing();
}
