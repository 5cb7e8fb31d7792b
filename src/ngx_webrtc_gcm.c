
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include <string.h>
#include <openssl/crypto.h>

#include "ngx_webrtc_gcm.h"


/* RFC 3711 4.3.2: SRTP and SRTCP encryption keys and salts */
#define NGX_WEBRTC_SRTP_LABEL_KEY    0x00
#define NGX_WEBRTC_SRTP_LABEL_SALT   0x02
#define NGX_WEBRTC_SRTCP_LABEL_KEY   0x03
#define NGX_WEBRTC_SRTCP_LABEL_SALT  0x05


static int ngx_webrtc_gcm_prf(EVP_CIPHER_CTX *ecb, const u_char *salt14,
    u_char label, u_char *out);
static void ngx_webrtc_gcm_iv(ngx_webrtc_gcm_t *g, const u_char *ssrc,
    uint64_t index, u_char *iv);
static ngx_webrtc_replay_t *ngx_webrtc_replay_find(
    ngx_webrtc_replay_t *replay, uint32_t ssrc);


int
ngx_webrtc_gcm_init(ngx_webrtc_gcm_t *g, const u_char *master_key,
    const u_char *master_salt, int rtcp, int decrypt)
{
    int              rc;
    u_char           salt14[14], key[16], salt[16];
    EVP_CIPHER_CTX  *ecb;

    ecb = EVP_CIPHER_CTX_new();
    if (ecb == NULL) {
        return -1;
    }

    /* the 96-bit master salt times 2^16 is the PRF's 112-bit salt */
    memcpy(salt14, master_salt, NGX_WEBRTC_GCM_SALT_LEN);
    salt14[12] = 0;
    salt14[13] = 0;

    rc = -1;

    if (EVP_EncryptInit_ex(ecb, EVP_aes_128_ecb(), NULL, master_key, NULL)
        == 1
        && ngx_webrtc_gcm_prf(ecb, salt14,
                              rtcp ? NGX_WEBRTC_SRTCP_LABEL_KEY
                                   : NGX_WEBRTC_SRTP_LABEL_KEY, key)
           == 0
        && ngx_webrtc_gcm_prf(ecb, salt14,
                              rtcp ? NGX_WEBRTC_SRTCP_LABEL_SALT
                                   : NGX_WEBRTC_SRTP_LABEL_SALT, salt)
           == 0)
    {
        rc = ngx_webrtc_gcm_init_session(g, key, salt, decrypt);
    }

    EVP_CIPHER_CTX_free(ecb);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(salt, sizeof(salt));

    return rc;
}


/*
 * RFC 3711 4.3.1/4.3.3 with a key derivation rate of 0: the first block of
 * AES-CM keystream with IV = (master salt XOR label << 48) * 2^16; 16 bytes
 * are enough for a 128-bit key and a 96-bit salt.
 */

static int
ngx_webrtc_gcm_prf(EVP_CIPHER_CTX *ecb, const u_char *salt14, u_char label,
    u_char *out)
{
    int     n;
    u_char  iv[16];

    memcpy(iv, salt14, 14);
    iv[7] ^= label;
    iv[14] = 0;
    iv[15] = 0;

    if (EVP_EncryptUpdate(ecb, out, &n, iv, 16) != 1 || n != 16) {
        return -1;
    }

    return 0;
}


int
ngx_webrtc_gcm_init_session(ngx_webrtc_gcm_t *g, const u_char *key,
    const u_char *salt, int decrypt)
{
    g->ctx = EVP_CIPHER_CTX_new();
    if (g->ctx == NULL) {
        return -1;
    }

    if (EVP_CipherInit_ex(g->ctx, EVP_aes_128_gcm(), NULL, NULL, NULL,
                          !decrypt) != 1
        || EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1
        || EVP_CipherInit_ex(g->ctx, NULL, NULL, key, NULL, -1) != 1)
    {
        EVP_CIPHER_CTX_free(g->ctx);
        g->ctx = NULL;
        return -1;
    }

    memcpy(g->salt, salt, NGX_WEBRTC_GCM_SALT_LEN);

    return 0;
}


void
ngx_webrtc_gcm_free(ngx_webrtc_gcm_t *g)
{
    if (g->ctx) {
        EVP_CIPHER_CTX_free(g->ctx);
        g->ctx = NULL;
    }

    OPENSSL_cleanse(g->salt, sizeof(g->salt));
}


ssize_t
ngx_webrtc_gcm_protect(ngx_webrtc_gcm_t *g, u_char *pkt, size_t hlen,
    const u_char *payload, size_t plen, uint32_t roc)
{
    int     n, m;
    u_char  iv[12];

    /* RFC 7714 8.1: the 48-bit packet index is ROC || SEQ */
    ngx_webrtc_gcm_iv(g, pkt + 8,
                      (uint64_t) roc << 16 | (uint64_t) pkt[2] << 8 | pkt[3],
                      iv);

    if (EVP_EncryptInit_ex(g->ctx, NULL, NULL, NULL, iv) != 1
        || EVP_EncryptUpdate(g->ctx, NULL, &n, pkt, (int) hlen) != 1
        || EVP_EncryptUpdate(g->ctx, pkt + hlen, &n, payload, (int) plen)
           != 1
        || EVP_EncryptFinal_ex(g->ctx, pkt + hlen + n, &m) != 1
        || EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_GET_TAG,
                               NGX_WEBRTC_GCM_TAG_LEN, pkt + hlen + plen)
           != 1)
    {
        return -1;
    }

    return (ssize_t) (hlen + plen + NGX_WEBRTC_GCM_TAG_LEN);
}


ssize_t
ngx_webrtc_gcm_protect_rtcp(ngx_webrtc_gcm_t *g, u_char *pkt, size_t len,
    uint32_t index)
{
    int      n, m;
    u_char   iv[12], *trailer;
    size_t   plen;

    if (len < 8) {
        return -1;
    }

    index &= 0x7fffffff;
    plen = len - 8;

    trailer = pkt + len + NGX_WEBRTC_GCM_TAG_LEN;
    trailer[0] = (u_char) (0x80 | (index >> 24));
    trailer[1] = (u_char) (index >> 16);
    trailer[2] = (u_char) (index >> 8);
    trailer[3] = (u_char) index;

    ngx_webrtc_gcm_iv(g, pkt + 4, index, iv);

    /* RFC 7714 9.1: the header, sender SSRC and E || index are the AAD */
    if (EVP_EncryptInit_ex(g->ctx, NULL, NULL, NULL, iv) != 1
        || EVP_EncryptUpdate(g->ctx, NULL, &n, pkt, 8) != 1
        || EVP_EncryptUpdate(g->ctx, NULL, &n, trailer, 4) != 1
        || EVP_EncryptUpdate(g->ctx, pkt + 8, &n, pkt + 8, (int) plen) != 1
        || EVP_EncryptFinal_ex(g->ctx, pkt + 8 + n, &m) != 1
        || EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_GET_TAG,
                               NGX_WEBRTC_GCM_TAG_LEN, pkt + len) != 1)
    {
        return -1;
    }

    return (ssize_t) (len + NGX_WEBRTC_GCM_TAG_LEN + NGX_WEBRTC_SRTCP_TRAILER);
}


ssize_t
ngx_webrtc_gcm_unprotect_rtcp(ngx_webrtc_gcm_t *g, u_char *pkt, size_t len,
    ngx_webrtc_replay_t *replay)
{
    int                   n, m;
    u_char                iv[12], *trailer;
    size_t                clen;
    uint32_t              index, ssrc, d;
    ngx_webrtc_replay_t  *r;

    if (len < 8 + NGX_WEBRTC_GCM_TAG_LEN + NGX_WEBRTC_SRTCP_TRAILER) {
        return -1;
    }

    clen = len - 8 - NGX_WEBRTC_GCM_TAG_LEN - NGX_WEBRTC_SRTCP_TRAILER;
    trailer = pkt + len - NGX_WEBRTC_SRTCP_TRAILER;

    if (!(trailer[0] & 0x80)) {
        /* E = 0, authentication only: not what WebRTC peers send */
        return -1;
    }

    index = ((uint32_t) (trailer[0] & 0x7f) << 24)
            | ((uint32_t) trailer[1] << 16)
            | ((uint32_t) trailer[2] << 8)
            | trailer[3];

    ssrc = ((uint32_t) pkt[4] << 24) | ((uint32_t) pkt[5] << 16)
           | ((uint32_t) pkt[6] << 8) | pkt[7];

    r = ngx_webrtc_replay_find(replay, ssrc);

    if (r->used && r->ssrc == ssrc && index <= r->top) {
        d = r->top - index;

        if (d >= 64 || (r->window & ((uint64_t) 1 << d))) {
            return -1;
        }
    }

    ngx_webrtc_gcm_iv(g, pkt + 4, index, iv);

    if (EVP_DecryptInit_ex(g->ctx, NULL, NULL, NULL, iv) != 1
        || EVP_DecryptUpdate(g->ctx, NULL, &n, pkt, 8) != 1
        || EVP_DecryptUpdate(g->ctx, NULL, &n, trailer, 4) != 1
        || EVP_DecryptUpdate(g->ctx, pkt + 8, &n, pkt + 8, (int) clen) != 1
        || EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_SET_TAG,
                               NGX_WEBRTC_GCM_TAG_LEN, pkt + 8 + clen) != 1
        || EVP_DecryptFinal_ex(g->ctx, pkt + 8 + n, &m) != 1)
    {
        return -1;
    }

    if (!r->used || r->ssrc != ssrc) {
        r->used = 1;
        r->ssrc = ssrc;
        r->top = index;
        r->window = 1;

    } else if (index > r->top) {
        d = index - r->top;
        r->window = (d >= 64) ? 1 : (r->window << d) | 1;
        r->top = index;

    } else {
        r->window |= (uint64_t) 1 << (r->top - index);
    }

    return (ssize_t) (8 + clen);
}


/*
 * RFC 7714 8.1 and 9.1: 00 00 || SSRC || the 48-bit index (SRTP: ROC ||
 * SEQ; SRTCP: the 31-bit SRTCP index), XOR the session salt
 */

static void
ngx_webrtc_gcm_iv(ngx_webrtc_gcm_t *g, const u_char *ssrc, uint64_t index,
    u_char *iv)
{
    size_t  i;

    iv[0] = 0;
    iv[1] = 0;
    memcpy(iv + 2, ssrc, 4);

    for (i = 0; i < 6; i++) {
        iv[6 + i] = (u_char) (index >> (40 - 8 * i));
    }

    for (i = 0; i < 12; i++) {
        iv[i] ^= g->salt[i];
    }
}


/*
 * The sender's window, or the slot a new sender takes: a free one, else
 * the one its SSRC hashes to (more senders than slots share, and a
 * displaced sender starts a new window).
 */

static ngx_webrtc_replay_t *
ngx_webrtc_replay_find(ngx_webrtc_replay_t *replay, uint32_t ssrc)
{
    size_t  i;

    for (i = 0; i < NGX_WEBRTC_SRTCP_REPLAY; i++) {
        if (replay[i].used && replay[i].ssrc == ssrc) {
            return &replay[i];
        }
    }

    for (i = 0; i < NGX_WEBRTC_SRTCP_REPLAY; i++) {
        if (!replay[i].used) {
            return &replay[i];
        }
    }

    return &replay[ssrc % NGX_WEBRTC_SRTCP_REPLAY];
}
