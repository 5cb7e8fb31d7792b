
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * Outbound SRTP AEAD_AES_128_GCM through OpenSSL (ngx_webrtc_gcm.c):
 * RFC 7714 16.1.1's packet with its session key and salt must encrypt to
 * the RFC's bytes; from a DTLS-style master key and salt, every packet of
 * a run across a sequence number wrap (and a late retransmission) must
 * equal libsrtp2's srtp_protect() output and pass a libsrtp2 receiver.
 * SRTCP: ours equals srtp_protect_rtcp() at the same index and passes a
 * libsrtp2 receiver; libsrtp2's SRTCP passes ours; forged, replayed, too
 * old, unencrypted and truncated packets do not.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "ngx_webrtc_gcm.h"

#include "tap.h"


/* RFC 7714 16.1.1: session key, session salt ("Quid pro quo"), packet */
static const u_char  rfc_key[16] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
};

static const u_char  rfc_salt[12] = {
    0x51, 0x75, 0x69, 0x64, 0x20, 0x70, 0x72, 0x6f,
    0x20, 0x71, 0x75, 0x6f
};

static const u_char  rfc_plain[] = {
    0x80, 0x40, 0xf1, 0x7b, 0x80, 0x41, 0xf8, 0xd3,
    0x55, 0x01, 0xa0, 0xb2,
    /* "Gallia est omnis divisa in partes tres" */
    0x47, 0x61, 0x6c, 0x6c, 0x69, 0x61, 0x20, 0x65,
    0x73, 0x74, 0x20, 0x6f, 0x6d, 0x6e, 0x69, 0x73,
    0x20, 0x64, 0x69, 0x76, 0x69, 0x73, 0x61, 0x20,
    0x69, 0x6e, 0x20, 0x70, 0x61, 0x72, 0x74, 0x65,
    0x73, 0x20, 0x74, 0x72, 0x65, 0x73
};

static const u_char  rfc_protected[] = {
    0x80, 0x40, 0xf1, 0x7b, 0x80, 0x41, 0xf8, 0xd3,
    0x55, 0x01, 0xa0, 0xb2,
    0xf2, 0x4d, 0xe3, 0xa3, 0xfb, 0x34, 0xde, 0x6c,
    0xac, 0xba, 0x86, 0x1c, 0x9d, 0x7e, 0x4b, 0xca,
    0xbe, 0x63, 0x3b, 0xd5, 0x0d, 0x29, 0x4e, 0x6f,
    0x42, 0xa5, 0xf4, 0x7a, 0x51, 0xc7, 0xd1, 0x9b,
    0x36, 0xde, 0x3a, 0xdf, 0x88, 0x33,
    /* tag */
    0x89, 0x9d, 0x7f, 0x27, 0xbe, 0xb1, 0x6a, 0x91,
    0x52, 0xcf, 0x76, 0x5e, 0xe4, 0x39, 0x0c, 0xce
};


static srtp_t
libsrtp_session(const u_char *master, int inbound)
{
    srtp_t         srtp;
    srtp_policy_t  policy;

    memset(&policy, 0, sizeof(policy));
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = (u_char *) master;
    policy.window_size = 1024;
    policy.allow_repeat_tx = 1;

    if (srtp_create(&srtp, &policy) != srtp_err_status_ok) {
        return NULL;
    }

    return srtp;
}


static void
rtp_packet(u_char *p, uint16_t seq, uint32_t ts, uint32_t ssrc,
    u_char *payload, size_t plen)
{
    size_t  i;

    p[0] = 0x80;
    p[1] = 0x60 | (seq & 1 ? 0x80 : 0);
    p[2] = (u_char) (seq >> 8);
    p[3] = (u_char) seq;
    p[4] = (u_char) (ts >> 24);
    p[5] = (u_char) (ts >> 16);
    p[6] = (u_char) (ts >> 8);
    p[7] = (u_char) ts;
    p[8] = (u_char) (ssrc >> 24);
    p[9] = (u_char) (ssrc >> 16);
    p[10] = (u_char) (ssrc >> 8);
    p[11] = (u_char) ssrc;

    for (i = 0; i < plen; i++) {
        payload[i] = (u_char) (seq * 7 + i);
    }

    memcpy(p + 12, payload, plen);
}


static void
rtcp_packet(u_char *p, size_t len, uint32_t ssrc)
{
    size_t  i;

    p[0] = 0x80;
    p[1] = 200;
    p[2] = (u_char) ((len / 4 - 1) >> 8);
    p[3] = (u_char) (len / 4 - 1);
    p[4] = (u_char) (ssrc >> 24);
    p[5] = (u_char) (ssrc >> 16);
    p[6] = (u_char) (ssrc >> 8);
    p[7] = (u_char) ssrc;

    for (i = 8; i < len; i++) {
        p[i] = (u_char) (i * 13);
    }
}


int
main(void)
{
    int               i, n, m, equal, received, sizes;
    size_t            plen;
    ssize_t           len;
    u_char            master[28], pkt[1600], ref[1600], payload[1400];
    u_char            copy[1600], copy2[5][128];
    ngx_webrtc_replay_t  replay[NGX_WEBRTC_SRTCP_REPLAY];
    uint16_t          seq;
    uint64_t          index;
    srtp_t            tx, rx;
    ngx_webrtc_gcm_t  g;

    /* the RFC's vector, session key and salt as given */

    ok(ngx_webrtc_gcm_init_session(&g, rfc_key, rfc_salt, 0) == 0,
       "context from RFC 7714 session key and salt");

    memcpy(pkt, rfc_plain, 12);
    len = ngx_webrtc_gcm_protect(&g, pkt, 12, rfc_plain + 12,
                                 sizeof(rfc_plain) - 12, 0);

    ok(len == (ssize_t) sizeof(rfc_protected)
       && memcmp(pkt, rfc_protected, sizeof(rfc_protected)) == 0,
       "RFC 7714 16.1.1 packet encrypts to the RFC's bytes and tag");

    memcpy(pkt, rfc_plain, 12);
    len = ngx_webrtc_gcm_protect(&g, pkt, 12, rfc_plain + 12,
                                 sizeof(rfc_plain) - 12, 1);

    ok(len == (ssize_t) sizeof(rfc_protected)
       && memcmp(pkt, rfc_protected, sizeof(rfc_protected)) != 0,
       "another ROC gives another ciphertext");

    ngx_webrtc_gcm_free(&g);

    /* against libsrtp2, from a master key and salt as DTLS exports them */

    if (srtp_init() != srtp_err_status_ok) {
        ok(0, "srtp_init");
        return 1;
    }

    for (i = 0; i < 28; i++) {
        master[i] = (u_char) (i * 37 + 11);
    }

    tx = libsrtp_session(master, 0);
    rx = libsrtp_session(master, 1);

    ok(tx != NULL && rx != NULL, "libsrtp2 AES-GCM sessions");
    ok(ngx_webrtc_gcm_init(&g, master, master + 16, 0, 0) == 0,
       "context from master key and salt");

    equal = 0;
    received = 0;
    sizes = 0;
    index = 65500;

    for (i = 0; i < 120; i++) {

        /*
         * 100 in order across the wrap, a retransmission every 10th; the
         * index exact, as the server knows it, and libsrtp2's own
         * estimate from the sequence number must agree
         */
        if (i % 10 == 9) {
            index -= 5;
        }

        plen = (i * 97) % 1300;
        sizes += (plen == 0);

        seq = (uint16_t) index;

        rtp_packet(pkt, seq, 90000 + i * 3000, 0x11223344, payload, plen);
        len = ngx_webrtc_gcm_protect(&g, pkt, 12, payload, plen,
                                     (uint32_t) (index >> 16));

        rtp_packet(ref, seq, 90000 + i * 3000, 0x11223344, payload, plen);
        n = (int) (12 + plen);

        if (srtp_protect(tx, ref, &n) == srtp_err_status_ok
            && len == n && memcmp(pkt, ref, n) == 0)
        {
            equal++;
        }

        n = (int) len;

        if (srtp_unprotect(rx, pkt, &n) == srtp_err_status_ok
            && n == (int) (12 + plen) && memcmp(pkt + 12, payload, plen) == 0)
        {
            received++;
        }

        if (i % 10 == 9) {
            index += 5;
        } else {
            index++;
        }
    }

    ok(equal == 120, "120 packets across a wrap equal srtp_protect()'s"
       " (%d equal)", equal);
    ok(received == 108, "a libsrtp2 receiver takes the 108 new ones"
       " (%d; the 12 retransmissions are replays to it)", received);
    ok(sizes > 0, "empty payloads included");

    ngx_webrtc_gcm_free(&g);

    /* SRTCP, both ways */

    ok(ngx_webrtc_gcm_init(&g, master, master + 16, 1, 0) == 0,
       "SRTCP encryption context");

    equal = 0;
    received = 0;

    for (i = 0; i < 20; i++) {
        plen = 8 + 20 + (i % 3) * 24;       /* SR, with report blocks */
        rtcp_packet(ref, plen, 0x55667788);

        n = (int) plen;
        if (srtp_protect_rtcp(tx, ref, &n) != srtp_err_status_ok) {
            continue;
        }

        /* the index libsrtp2 used, from its trailer */
        index = ((uint32_t) (ref[n - 4] & 0x7f) << 24)
                | ((uint32_t) ref[n - 3] << 16)
                | ((uint32_t) ref[n - 2] << 8) | ref[n - 1];

        rtcp_packet(pkt, plen, 0x55667788);
        len = ngx_webrtc_gcm_protect_rtcp(&g, pkt, plen, (uint32_t) index);

        if (len == n && memcmp(pkt, ref, n) == 0) {
            equal++;
        }

        rtcp_packet(ref, plen, 0x55667788);
        rtcp_packet(pkt, plen, 0x55667799);
        len = ngx_webrtc_gcm_protect_rtcp(&g, pkt, plen, 1000 + i);
        n = (int) len;

        if (srtp_unprotect_rtcp(rx, pkt, &n) == srtp_err_status_ok
            && n == (int) plen && memcmp(pkt + 8, ref + 8, plen - 8) == 0)
        {
            received++;
        }
    }

    ok(equal == 20, "20 SRTCP packets equal srtp_protect_rtcp()'s at its"
       " index (%d equal)", equal);
    ok(received == 20, "a libsrtp2 receiver takes our SRTCP (%d)", received);

    ngx_webrtc_gcm_free(&g);

    ok(ngx_webrtc_gcm_init(&g, master, master + 16, 1, 1) == 0,
       "SRTCP decryption context");

    memset(replay, 0, sizeof(replay));

    rtcp_packet(ref, 60, 0x0badcafe);
    memcpy(pkt, ref, 60);
    n = 60;
    ok(srtp_protect_rtcp(tx, pkt, &n) == srtp_err_status_ok,
       "libsrtp2 protects an RTCP packet");
    memcpy(copy, pkt, n);

    len = ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, n, replay);
    ok(len == 60 && memcmp(pkt, ref, 60) == 0,
       "ours decrypts libsrtp2's SRTCP to the original");

    memcpy(pkt, copy, n);
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, n, replay) == -1,
       "the same packet again is a replay");

    for (i = 0; i < 5; i++) {
        rtcp_packet(pkt, 40, 0x0badcafe);
        m = 40;
        srtp_protect_rtcp(tx, pkt, &m);
        memcpy(copy2[i], pkt, m);
    }

    memcpy(pkt, copy2[3], m);
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, m, replay) == 40,
       "a later packet passes");
    memcpy(pkt, copy2[1], m);
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, m, replay) == 40,
       "an earlier one not yet seen passes (reordering)");
    memcpy(pkt, copy2[1], m);
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, m, replay) == -1,
       "and not twice");

    memcpy(pkt, copy2[4], m);
    pkt[20] ^= 1;
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, m, replay) == -1,
       "a flipped ciphertext bit fails the tag");
    memcpy(pkt, copy2[4], m);
    pkt[m - 1] ^= 1;
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, m, replay) == -1,
       "a changed index fails the tag");
    memcpy(pkt, copy2[4], m);
    pkt[m - 4] &= 0x7f;
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, m, replay) == -1,
       "E = 0 (unencrypted) is refused");
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, 27, replay) == -1,
       "27 bytes are too short");
    memcpy(pkt, copy2[4], m);
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, m, replay) == 40,
       "the untouched packet still passes");

    for (i = 0; i < 70; i++) {
        rtcp_packet(pkt, 40, 0x0badcafe);
        m = 40;
        srtp_protect_rtcp(tx, pkt, &m);
        if (i == 0) {
            memcpy(copy, pkt, m);
        }
        (void) ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, m, replay);
    }

    memcpy(pkt, copy, m);
    ok(ngx_webrtc_gcm_unprotect_rtcp(&g, pkt, m, replay) == -1,
       "a packet 70 indexes behind is outside the window");

    ngx_webrtc_gcm_free(&g);
    srtp_dealloc(tx);
    srtp_dealloc(rx);

    return done_testing();
}
