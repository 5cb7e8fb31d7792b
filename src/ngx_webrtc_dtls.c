
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_dtls.h"

#include <openssl/x509.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <srtp2/srtp.h>


/*
 * Each worker makes its own ECDSA certificate; its fingerprint goes into
 * the answers that worker writes.  Records from the peer are fed through
 * a memory BIO; records to the peer leave through a BIO whose every
 * write is one datagram, handed to the owner's output handler.
 */


#define NGX_WEBRTC_SRTP_PROFILES  "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"


/*
 * OpenSSL 3.0 does not survive every record it should silently discard
 * (RFC 6347 4.1.2.7): a protected record shorter than its cipher's nonce
 * and tag leaves the connection failing every later read, and with CBC
 * suites (encrypt-then-MAC) any record with a bad MAC is fatal.  Anyone
 * able to send from the peer's address would end the session with one
 * datagram.  So only AEAD suites are offered (RFC 8827 requires
 * ECDHE-ECDSA with AES-128-GCM of every WebRTC implementation; the
 * certificate is ECDSA), and once connected a datagram reaches OpenSSL
 * only if all its records are well framed and long enough for the suite.
 */
#define NGX_WEBRTC_DTLS_CIPHERS   "ECDHE-ECDSA-AES128-GCM-SHA256:"             \
                                  "ECDHE-ECDSA-AES256-GCM-SHA384:"             \
                                  "ECDHE-ECDSA-CHACHA20-POLY1305"
#define NGX_WEBRTC_DTLS_HEADER    13


static int ngx_webrtc_dtls_verify(int ok, X509_STORE_CTX *x509_store);
static ngx_int_t ngx_webrtc_dtls_certificate(ngx_log_t *log,
    ngx_str_t *fingerprint);
static ngx_int_t ngx_webrtc_dtls_done(ngx_webrtc_dtls_t *d);
static ngx_int_t ngx_webrtc_dtls_records(ngx_webrtc_dtls_t *d, u_char *p,
    size_t len);
static ngx_int_t ngx_webrtc_dtls_check_fingerprint(ngx_webrtc_dtls_t *d);
static void ngx_webrtc_dtls_set_timer(ngx_webrtc_dtls_t *d);
static void ngx_webrtc_dtls_swap(u_char *a, u_char *b, size_t n);
static void ngx_webrtc_dtls_free(void *data);
static int ngx_webrtc_bio_write(BIO *b, const char *buf, int len);
static long ngx_webrtc_bio_ctrl(BIO *b, int cmd, long num, void *ptr);
static int ngx_webrtc_bio_create(BIO *b);


static SSL_CTX     *ngx_webrtc_ssl_ctx;
static BIO_METHOD  *ngx_webrtc_bio_method;


ngx_int_t
ngx_webrtc_dtls_init(ngx_log_t *log, ngx_str_t *fingerprint)
{
    SSL_CTX  *ctx;

    ngx_webrtc_bio_method = BIO_meth_new(BIO_get_new_index()
                                         | BIO_TYPE_SOURCE_SINK,
                                         "nginx webrtc datagram");
    if (ngx_webrtc_bio_method == NULL) {
        ngx_ssl_error(NGX_LOG_EMERG, log, 0, "BIO_meth_new() failed");
        return NGX_ERROR;
    }

    BIO_meth_set_write(ngx_webrtc_bio_method, ngx_webrtc_bio_write);
    BIO_meth_set_ctrl(ngx_webrtc_bio_method, ngx_webrtc_bio_ctrl);
    BIO_meth_set_create(ngx_webrtc_bio_method, ngx_webrtc_bio_create);

    /* both roles: a cascading pull or push is the DTLS client */
    ctx = SSL_CTX_new(DTLS_method());
    if (ctx == NULL) {
        ngx_ssl_error(NGX_LOG_EMERG, log, 0, "SSL_CTX_new() failed");
        return NGX_ERROR;
    }

    ngx_webrtc_ssl_ctx = ctx;

    SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER|SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       ngx_webrtc_dtls_verify);

    if (SSL_CTX_set_cipher_list(ctx, NGX_WEBRTC_DTLS_CIPHERS) != 1) {
        ngx_ssl_error(NGX_LOG_EMERG, log, 0,
                      "SSL_CTX_set_cipher_list() failed");
        return NGX_ERROR;
    }

    /* OpenSSL picks the first of ours that the client offers: GCM first */
    if (SSL_CTX_set_tlsext_use_srtp(ctx, NGX_WEBRTC_SRTP_PROFILES) != 0) {
        ngx_ssl_error(NGX_LOG_EMERG, log, 0,
                      "SSL_CTX_set_tlsext_use_srtp() failed");
        return NGX_ERROR;
    }

    return ngx_webrtc_dtls_certificate(log, fingerprint);
}


void
ngx_webrtc_dtls_cleanup(void)
{
    if (ngx_webrtc_ssl_ctx) {
        SSL_CTX_free(ngx_webrtc_ssl_ctx);
        ngx_webrtc_ssl_ctx = NULL;
    }

    if (ngx_webrtc_bio_method) {
        BIO_meth_free(ngx_webrtc_bio_method);
        ngx_webrtc_bio_method = NULL;
    }
}


static ngx_int_t
ngx_webrtc_dtls_certificate(ngx_log_t *log, ngx_str_t *fingerprint)
{
    u_char         *p;
    unsigned int    n, i;
    X509           *x509;
    EVP_PKEY       *pkey;
    X509_NAME      *name;
    uint64_t        sn;
    u_char          md[EVP_MAX_MD_SIZE];
    u_char          serial[8];

    static u_char   hex[] = "0123456789ABCDEF";

    x509 = NULL;

    pkey = EVP_EC_gen("P-256");
    if (pkey == NULL) {
        ngx_ssl_error(NGX_LOG_EMERG, log, 0, "EVP_EC_gen() failed");
        return NGX_ERROR;
    }

    x509 = X509_new();
    if (x509 == NULL) {
        goto failed;
    }

    if (RAND_bytes(serial, sizeof(serial)) != 1) {
        goto failed;
    }

    serial[0] &= 0x7f;
    sn = 0;

    for (i = 0; i < sizeof(serial); i++) {
        sn = (sn << 8) | serial[i];
    }

    if (X509_set_version(x509, 2) != 1
        || ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509),
                                   sn) != 1
        || X509_gmtime_adj(X509_getm_notBefore(x509), -86400) == NULL
        || X509_gmtime_adj(X509_getm_notAfter(x509), 30 * 86400) == NULL
        || X509_set_pubkey(x509, pkey) != 1)
    {
        goto failed;
    }

    name = X509_get_subject_name(x509);

    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   (u_char *) "nginx-webrtc", -1, -1, 0)
        != 1
        || X509_set_issuer_name(x509, name) != 1
        || X509_sign(x509, pkey, EVP_sha256()) == 0)
    {
        goto failed;
    }

    if (SSL_CTX_use_certificate(ngx_webrtc_ssl_ctx, x509) != 1
        || SSL_CTX_use_PrivateKey(ngx_webrtc_ssl_ctx, pkey) != 1)
    {
        goto failed;
    }

    if (X509_digest(x509, EVP_sha256(), md, &n) != 1) {
        goto failed;
    }

    fingerprint->data = ngx_palloc(ngx_cycle->pool,
                                     sizeof("sha-256 ") + 3 * n);
    if (fingerprint->data == NULL) {
        goto failed;
    }

    p = ngx_cpymem(fingerprint->data, "sha-256 ", sizeof("sha-256 ") - 1);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ':';
        }

        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 0xf];
    }

    fingerprint->len = p - fingerprint->data;

    X509_free(x509);
    EVP_PKEY_free(pkey);

    return NGX_OK;

failed:

    ngx_ssl_error(NGX_LOG_EMERG, log, 0,
                  "webrtc: making the DTLS certificate failed");

    if (x509) {
        X509_free(x509);
    }

    EVP_PKEY_free(pkey);

    return NGX_ERROR;
}


static int
ngx_webrtc_dtls_verify(int ok, X509_STORE_CTX *x509_store)
{
    /* self-signed by design: the fingerprint from the offer decides */
    return 1;
}


/* the SSL object is freed with the session's pool, or released earlier */

ngx_int_t
ngx_webrtc_dtls_create(ngx_webrtc_dtls_t *d)
{
    BIO                 *rbio, *wbio;
    SSL                 *ssl;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(d->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ssl = SSL_new(ngx_webrtc_ssl_ctx);
    if (ssl == NULL) {
        ngx_ssl_error(NGX_LOG_ERR, d->log, 0, "SSL_new() failed");
        return NGX_ERROR;
    }

    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(ngx_webrtc_bio_method);

    if (rbio == NULL || wbio == NULL) {
        ngx_ssl_error(NGX_LOG_ERR, d->log, 0, "BIO_new() failed");
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(ssl);
        return NGX_ERROR;
    }

    BIO_set_mem_eof_return(rbio, -1);
    BIO_set_data(wbio, d);

    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl, NGX_WEBRTC_MTU);

    if (d->client) {
        SSL_set_connect_state(ssl);

    } else {
        SSL_set_accept_state(ssl);
    }

    d->ssl = ssl;

    cln->handler = ngx_webrtc_dtls_free;
    cln->data = d;

    d->timer.log = d->log;
    d->timer.cancelable = 1;

    return NGX_OK;
}


static void
ngx_webrtc_dtls_free(void *data)
{
    ngx_webrtc_dtls_t  *d = data;

    if (d->ssl) {
        SSL_free(d->ssl);
        d->ssl = NULL;
    }
}


ngx_int_t
ngx_webrtc_dtls_input(ngx_webrtc_dtls_t *d, u_char *buf, size_t len)
{
    int  n, err;

    if (d->ssl == NULL) {
        if (d->done && buf[0] == 21) {
            /* an alert record: perhaps the peer's close_notify */
            return NGX_WEBRTC_DTLS_ALERT;
        }

        return NGX_WEBRTC_DTLS_AGAIN;
    }

    if (d->done && ngx_webrtc_dtls_records(d, buf, len) != NGX_OK) {
        ngx_log_debug0(NGX_LOG_DEBUG_EVENT, d->log, 0,
                       "webrtc: DTLS datagram not for OpenSSL, dropped");
        return NGX_WEBRTC_DTLS_AGAIN;
    }

    if (BIO_write(SSL_get_rbio(d->ssl), buf, (int) len) != (int) len) {
        return NGX_WEBRTC_DTLS_AGAIN;
    }

    if (d->done) {
        return NGX_WEBRTC_DTLS_DATA;
    }

    ERR_clear_error();

    n = SSL_do_handshake(d->ssl);

    if (n == 1) {
        if (d->timer.timer_set) {
            ngx_del_timer(&d->timer);
        }

        if (ngx_webrtc_dtls_done(d) != NGX_OK) {
            d->error = "DTLS-SRTP setup failed";
            return NGX_WEBRTC_DTLS_FAILED;
        }

        return NGX_WEBRTC_DTLS_CONNECTED;
    }

    err = SSL_get_error(d->ssl, n);

    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        ngx_webrtc_dtls_set_timer(d);
        return NGX_WEBRTC_DTLS_AGAIN;
    }

    ngx_ssl_error(NGX_LOG_INFO, d->log, 0, "webrtc: DTLS handshake failed");
    d->error = "DTLS handshake failed";

    return NGX_WEBRTC_DTLS_FAILED;
}


/*
 * The client's first flight (ClientHello), then its retransmission
 * timer; the handshake goes on in ngx_webrtc_dtls_input().
 */

ngx_int_t
ngx_webrtc_dtls_handshake(ngx_webrtc_dtls_t *d)
{
    int  n, err;

    if (d->ssl == NULL || d->done) {
        return NGX_OK;
    }

    ERR_clear_error();

    n = SSL_do_handshake(d->ssl);

    if (n != 1) {
        err = SSL_get_error(d->ssl, n);

        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
            ngx_ssl_error(NGX_LOG_INFO, d->log, 0,
                          "webrtc: DTLS handshake failed");
            d->error = "DTLS handshake failed";
            return NGX_ERROR;
        }
    }

    if (!d->timer.timer_set) {
        ngx_webrtc_dtls_set_timer(d);
    }

    return NGX_OK;
}


/*
 * Application data (SCTP): the length read, 0 when there is no more, or
 * NGX_ERROR when the association ended (d->error says why).
 */

ssize_t
ngx_webrtc_dtls_read(ngx_webrtc_dtls_t *d, u_char *buf, size_t size)
{
    int  n, err;

    if (d->ssl == NULL) {
        return 0;
    }

    ERR_clear_error();

    n = SSL_read(d->ssl, buf, (int) size);

    if (n > 0) {
        return n;
    }

    err = SSL_get_error(d->ssl, n);

    if (err == SSL_ERROR_WANT_READ) {
        return 0;
    }

    if (err == SSL_ERROR_ZERO_RETURN) {
        d->error = "DTLS closed by peer";
        return NGX_ERROR;
    }

    ngx_ssl_error(NGX_LOG_INFO, d->log, 0, "webrtc: DTLS read failed");
    d->error = "DTLS error";

    return NGX_ERROR;
}


/* one record of application data: one datagram */

ngx_int_t
ngx_webrtc_dtls_write(ngx_webrtc_dtls_t *d, u_char *buf, size_t len)
{
    if (d->ssl == NULL || !d->done) {
        return NGX_ERROR;
    }

    ERR_clear_error();

    if (SSL_write(d->ssl, buf, (int) len) <= 0) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the retransmission timer fired: NGX_ERROR ends the session */

ngx_int_t
ngx_webrtc_dtls_timeout(ngx_webrtc_dtls_t *d)
{
    if (d->done || d->ssl == NULL) {
        return NGX_OK;
    }

    ERR_clear_error();

    if (DTLSv1_handle_timeout(d->ssl) < 0) {
        ngx_ssl_error(NGX_LOG_INFO, d->log, 0,
                      "webrtc: DTLS retransmission failed");
        d->error = "DTLS timeout";
        return NGX_ERROR;
    }

    ngx_webrtc_dtls_set_timer(d);

    return NGX_OK;
}


void
ngx_webrtc_dtls_shutdown(ngx_webrtc_dtls_t *d)
{
    if (d->ssl == NULL) {
        /* released: the close_notify made then */
        if (d->close_notify_len) {
            (void) d->output(d->data, d->close_notify, d->close_notify_len);
        }

        return;
    }

    if (d->done) {
        ERR_clear_error();
        (void) SSL_shutdown(d->ssl);
    }
}


/*
 * A viewer without data channels needs nothing more from DTLS once the
 * client has its keys (the owner saw its first SRTCP packet pass): the
 * SSL object goes, with its record and handshake buffers and the peer's
 * certificate, about 70 KiB, as OpenSSL keeps them for DTLS whatever
 * SSL_MODE_RELEASE_BUFFERS says.  The close_notify that ends the session
 * is made now and kept (a record of 30-odd bytes).  What is lost: the
 * peer's own close_notify can no longer be authenticated, see
 * ngx_webrtc_ice_alert().
 */

void
ngx_webrtc_dtls_release(ngx_webrtc_dtls_t *d)
{
    if (d->ssl == NULL || !d->done) {
        return;
    }

    d->capture = 1;

    ERR_clear_error();
    (void) SSL_shutdown(d->ssl);

    d->capture = 0;

    if (d->timer.timer_set) {
        ngx_del_timer(&d->timer);
    }

    SSL_free(d->ssl);
    d->ssl = NULL;

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, d->log, 0,
                   "webrtc: DTLS state released, close_notify of %uz bytes",
                   d->close_notify_len);
}


/* the SRTP master keys and salts, into NGX_WEBRTC_DTLS_KEYS_MAX bytes */

ngx_int_t
ngx_webrtc_dtls_keys(ngx_webrtc_dtls_t *d, u_char *keys)
{
    size_t  klen;

    klen = (d->profile == SRTP_AEAD_AES_128_GCM) ? 2 * (16 + 12)
                                                 : 2 * (16 + 14);

    if (SSL_export_keying_material(d->ssl, keys, klen,
                                   "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0)
        != 1)
    {
        ngx_ssl_error(NGX_LOG_ERR, d->log, 0,
                      "SSL_export_keying_material() failed");
        return NGX_ERROR;
    }

    if (d->client) {
        /* RFC 5764 4.2: client key, server key, client salt, server salt;
         * the caller wants the peer's first */
        ngx_webrtc_dtls_swap(keys, keys + 16, 16);
        ngx_webrtc_dtls_swap(keys + 32, keys + 32 + (klen / 2 - 16),
                             klen / 2 - 16);
    }

    return NGX_OK;
}


static void
ngx_webrtc_dtls_swap(u_char *a, u_char *b, size_t n)
{
    u_char  c;

    while (n--) {
        c = *a;
        *a++ = *b;
        *b++ = c;
    }
}


/* the peer's certificate matches the offer, the SRTP profile is known */

static ngx_int_t
ngx_webrtc_dtls_done(ngx_webrtc_dtls_t *d)
{
    SRTP_PROTECTION_PROFILE   *p;

    if (ngx_webrtc_dtls_check_fingerprint(d) != NGX_OK) {
        return NGX_ERROR;
    }

    p = SSL_get_selected_srtp_profile(d->ssl);
    if (p == NULL) {
        ngx_log_error(NGX_LOG_INFO, d->log, 0,
                      "webrtc: peer negotiated no SRTP profile");
        return NGX_ERROR;
    }

    d->profile = p->id;
    d->profile_name = p->name;

    if (d->profile != SRTP_AEAD_AES_128_GCM
        && d->profile != SRTP_AES128_CM_SHA1_80)
    {
        ngx_log_error(NGX_LOG_INFO, d->log, 0,
                      "webrtc: unsupported SRTP profile %ui", d->profile);
        return NGX_ERROR;
    }

    /* the shortest protected record: explicit nonce (GCM), tag, a byte */
    d->min_record = (SSL_CIPHER_get_cipher_nid(SSL_get_current_cipher(d->ssl))
                     == NID_chacha20_poly1305) ? 16 + 1 : 8 + 16 + 1;

    d->done = 1;

    return NGX_OK;
}


/*
 * A connected peer's datagram: records of the four content types of
 * DTLS 1.2, each whole, the protected ones (epoch > 0) no shorter than
 * the suite allows.  Anything else is not the peer's: it stays away from
 * OpenSSL (see NGX_WEBRTC_DTLS_CIPHERS).
 */

static ngx_int_t
ngx_webrtc_dtls_records(ngx_webrtc_dtls_t *d, u_char *p, size_t len)
{
    size_t  n;

    while (len) {
        if (len < NGX_WEBRTC_DTLS_HEADER) {
            return NGX_DECLINED;
        }

        n = (size_t) p[11] << 8 | p[12];

        if (p[0] < 20 || p[0] > 23 || p[1] != 0xfe
            || n > len - NGX_WEBRTC_DTLS_HEADER)
        {
            return NGX_DECLINED;
        }

        if ((p[3] || p[4]) && n < d->min_record) {
            return NGX_DECLINED;
        }

        p += NGX_WEBRTC_DTLS_HEADER + n;
        len -= NGX_WEBRTC_DTLS_HEADER + n;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_webrtc_dtls_check_fingerprint(ngx_webrtc_dtls_t *d)
{
    u_char         *p, *fp;
    size_t          n;
    X509           *cert;
    ngx_uint_t      i;
    unsigned int    len;
    const EVP_MD   *md;
    u_char          buf[EVP_MAX_MD_SIZE];
    u_char          hex[EVP_MAX_MD_SIZE * 3];

    static u_char   digits[] = "0123456789ABCDEF";

    static struct {
        ngx_str_t      name;
        const char    *md;
    } algs[] = {
        { ngx_string("sha-224"), "SHA224" },
        { ngx_string("sha-256"), "SHA256" },
        { ngx_string("sha-384"), "SHA384" },
        { ngx_string("sha-512"), "SHA512" },
    };

    md = NULL;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (algs[i].name.len == d->remote_fp_alg.len
            && ngx_strncasecmp(algs[i].name.data, d->remote_fp_alg.data,
                               d->remote_fp_alg.len)
               == 0)
        {
            md = EVP_get_digestbyname(algs[i].md);
            break;
        }
    }

    if (md == NULL) {
        ngx_log_error(NGX_LOG_INFO, d->log, 0,
                      "webrtc: unsupported fingerprint algorithm \"%V\"",
                      &d->remote_fp_alg);
        return NGX_ERROR;
    }

    cert = SSL_get1_peer_certificate(d->ssl);
    if (cert == NULL) {
        ngx_log_error(NGX_LOG_INFO, d->log, 0,
                      "webrtc: peer sent no DTLS certificate");
        return NGX_ERROR;
    }

    if (X509_digest(cert, md, buf, &len) != 1) {
        X509_free(cert);
        ngx_ssl_error(NGX_LOG_ERR, d->log, 0, "X509_digest() failed");
        return NGX_ERROR;
    }

    X509_free(cert);

    p = hex;

    for (i = 0; i < len; i++) {
        if (i) {
            *p++ = ':';
        }

        *p++ = digits[buf[i] >> 4];
        *p++ = digits[buf[i] & 0xf];
    }

    n = p - hex;
    fp = d->remote_fp.data;

    if (n != d->remote_fp.len || ngx_strncasecmp(hex, fp, n) != 0) {
        ngx_log_error(NGX_LOG_INFO, d->log, 0,
                      "webrtc: DTLS certificate does not match the offer's "
                      "fingerprint");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_webrtc_dtls_set_timer(ngx_webrtc_dtls_t *d)
{
    struct timeval  tv;
    ngx_msec_t      ms;

    if (DTLSv1_get_timeout(d->ssl, &tv) != 1) {
        return;
    }

    ms = tv.tv_sec * 1000 + tv.tv_usec / 1000;

    ngx_add_timer(&d->timer, ms ? ms : 1);
}


static int
ngx_webrtc_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}


static int
ngx_webrtc_bio_write(BIO *b, const char *buf, int len)
{
    ngx_webrtc_dtls_t  *d;

    d = BIO_get_data(b);

    if (d == NULL || len <= 0) {
        return len;
    }

    if (d->capture) {
        /* the close_notify of a session about to release its SSL */
        if (d->close_notify == NULL) {
            d->close_notify = ngx_pnalloc(d->pool, len);
            if (d->close_notify == NULL) {
                return -1;
            }

            ngx_memcpy(d->close_notify, buf, len);
            d->close_notify_len = len;
        }

        return len;
    }

    /* a lost datagram is retransmitted by the DTLS timer */
    (void) d->output(d->data, (u_char *) buf, len);

    return len;
}


static long
ngx_webrtc_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    switch (cmd) {

    case BIO_CTRL_FLUSH:
        return 1;

    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_MTU:
        return NGX_WEBRTC_MTU;

    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
        return 0;

    default:
        return 0;
    }
}
