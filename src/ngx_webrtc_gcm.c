
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include <string.h>
#include <openssl/crypto.h>

#include "ngx_webrtc_gcm.h"


#define NGX_WEBRTC_SRTP_LABEL_KEY   0x00
#define NGX_WEBRTC_SRTP_LABEL_SALT  0x02


static int ngx_webrtc_gcm_prf(EVP_CIPHER_CTX *ecb, const u_char *salt14,
    u_char label, u_char *out);


int
ngx_webrtc_gcm_init(ngx_webrtc_gcm_t *g, const u_char *master_key,
    const u_char *master_salt)
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
        && ngx_webrtc_gcm_prf(ecb, salt14, NGX_WEBRTC_SRTP_LABEL_KEY, key)
           == 0
        && ngx_webrtc_gcm_prf(ecb, salt14, NGX_WEBRTC_SRTP_LABEL_SALT, salt)
           == 0)
    {
        rc = ngx_webrtc_gcm_init_session(g, key, salt);
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
    const u_char *salt)
{
    g->ctx = EVP_CIPHER_CTX_new();
    if (g->ctx == NULL) {
        return -1;
    }

    if (EVP_EncryptInit_ex(g->ctx, EVP_aes_128_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1
        || EVP_EncryptInit_ex(g->ctx, NULL, NULL, key, NULL) != 1)
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
    int         n, m;
    u_char      iv[12];
    size_t      i;

    /* RFC 7714 8.1: 00 00 || SSRC || ROC || SEQ, XOR the session salt */
    iv[0] = 0;
    iv[1] = 0;
    memcpy(iv + 2, pkt + 8, 4);
    iv[6] = (u_char) (roc >> 24);
    iv[7] = (u_char) (roc >> 16);
    iv[8] = (u_char) (roc >> 8);
    iv[9] = (u_char) roc;
    iv[10] = pkt[2];
    iv[11] = pkt[3];

    for (i = 0; i < 12; i++) {
        iv[i] ^= g->salt[i];
    }

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
