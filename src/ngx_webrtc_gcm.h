
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_GCM_H_INCLUDED_
#define _NGX_WEBRTC_GCM_H_INCLUDED_


/*
 * SRTP and SRTCP with AEAD_AES_128_GCM (RFC 7714) through OpenSSL's EVP
 * interface, for viewers: outgoing SRTP (the per-packet path of fan-out),
 * outgoing SRTCP (sender reports) and incoming SRTCP (receiver reports,
 * NACK, PLI).  libsrtp2 as Debian builds it does AES-GCM through NSS, at
 * several times the cost of OpenSSL's AES-NI/PCLMUL code and with about
 * 36 KiB of contexts per session; publishers (incoming SRTP) and the
 * AES-CM profile stay with libsrtp2.
 *
 * Pure C on OpenSSL: no nginx runtime, so that the unit test links it
 * alone and checks it against RFC 7714's vectors and against libsrtp2.
 */

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>


#define NGX_WEBRTC_GCM_KEY_LEN   16
#define NGX_WEBRTC_GCM_SALT_LEN  12
#define NGX_WEBRTC_GCM_TAG_LEN   16
#define NGX_WEBRTC_SRTCP_TRAILER 4      /* E flag and SRTCP index */
#define NGX_WEBRTC_SRTCP_REPLAY  8      /* SSRCs with a replay window */


typedef struct {
    EVP_CIPHER_CTX   *ctx;          /* keyed with the session key */
    u_char            salt[NGX_WEBRTC_GCM_SALT_LEN];
} ngx_webrtc_gcm_t;


/* RFC 3711 3.3.2 replay protection of incoming SRTCP, per sender SSRC */
typedef struct {
    uint32_t          ssrc;
    uint32_t          top;          /* highest index seen */
    uint64_t          window;       /* bit i: index top - i seen */
    unsigned          used:1;
} ngx_webrtc_replay_t;


/*
 * Session key and salt from the DTLS-SRTP master key and 96-bit master
 * salt (RFC 3711 4.3 AES-CM PRF; RFC 7714 11 with erratum 4938), for SRTP
 * or (rtcp) SRTCP, to encrypt or (decrypt) to decrypt.  Returns 0 or -1.
 */
int ngx_webrtc_gcm_init(ngx_webrtc_gcm_t *g, const u_char *master_key,
    const u_char *master_salt, int rtcp, int decrypt);

/* with the session key and salt as they are (test vectors) */
int ngx_webrtc_gcm_init_session(ngx_webrtc_gcm_t *g, const u_char *key,
    const u_char *salt, int decrypt);

void ngx_webrtc_gcm_free(ngx_webrtc_gcm_t *g);

/*
 * pkt holds the RTP header (hlen bytes, SSRC and sequence number in place);
 * the payload is encrypted from "payload" to pkt + hlen and the tag
 * appended.  Returns the packet's length, or -1.
 */
ssize_t ngx_webrtc_gcm_protect(ngx_webrtc_gcm_t *g, u_char *pkt, size_t hlen,
    const u_char *payload, size_t plen, uint32_t roc);

/*
 * An RTCP compound packet of len bytes in place, with room for
 * NGX_WEBRTC_GCM_TAG_LEN + NGX_WEBRTC_SRTCP_TRAILER more (RFC 7714 9.1:
 * encrypted, E = 1).  Returns the SRTCP packet's length, or -1.
 */
ssize_t ngx_webrtc_gcm_protect_rtcp(ngx_webrtc_gcm_t *g, u_char *pkt,
    size_t len, uint32_t index);

/*
 * An SRTCP packet in place: checks the tag, decrypts, checks the index
 * against the sender's replay window (and then records it).  Returns the
 * RTCP packet's length, or -1 (malformed, unencrypted, forged, replayed).
 */
ssize_t ngx_webrtc_gcm_unprotect_rtcp(ngx_webrtc_gcm_t *g, u_char *pkt,
    size_t len, ngx_webrtc_replay_t *replay);


#endif /* _NGX_WEBRTC_GCM_H_INCLUDED_ */
