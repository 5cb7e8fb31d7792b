
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_DTLS_H_INCLUDED_
#define _NGX_WEBRTC_DTLS_H_INCLUDED_


#include "ngx_webrtc.h"

#include <openssl/ssl.h>


/*
 * DTLS-SRTP (RFC 5764) of one session: the server side, or the client
 * side for a session the server opened itself (cascading).  Records go out
 * through the output handler its owner installs; what happened is
 * returned, and the owner decides.
 */


/* what ngx_webrtc_dtls_input() saw */
#define NGX_WEBRTC_DTLS_AGAIN        0    /* nothing more to do */
#define NGX_WEBRTC_DTLS_CONNECTED    1    /* handshake done, keys ready */
#define NGX_WEBRTC_DTLS_DATA         2    /* application data to read */
#define NGX_WEBRTC_DTLS_ALERT        3    /* an alert after release */
#define NGX_WEBRTC_DTLS_FAILED       4    /* see d->error */

#define NGX_WEBRTC_DTLS_KEYS_MAX     (2 * (16 + 14))


typedef ngx_int_t (*ngx_webrtc_dtls_output_pt)(void *data, u_char *buf,
    size_t len);


typedef struct {
    SSL                        *ssl;
    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    ngx_event_t                 timer;        /* handler: the owner's */
    ngx_str_t                   remote_fp_alg;
    ngx_str_t                   remote_fp;

    ngx_webrtc_dtls_output_pt   output;
    void                       *data;

    /*
     * a session that needs no more from DTLS frees its SSL; the
     * close_notify for the end is made then
     */
    u_char                     *close_notify;
    size_t                      close_notify_len;

    const char                 *error;        /* why it failed */
    const char                 *profile_name;
    ngx_uint_t                  profile;
    size_t                      min_record;   /* protected, in bytes */

    unsigned                    done:1;
    unsigned                    capture:1;
    unsigned                    client:1;     /* cascading: we connect */
} ngx_webrtc_dtls_t;


ngx_int_t ngx_webrtc_dtls_init(ngx_log_t *log, ngx_str_t *fingerprint);
void ngx_webrtc_dtls_cleanup(void);
ngx_int_t ngx_webrtc_dtls_create(ngx_webrtc_dtls_t *d);
ngx_int_t ngx_webrtc_dtls_handshake(ngx_webrtc_dtls_t *d);
ngx_int_t ngx_webrtc_dtls_input(ngx_webrtc_dtls_t *d, u_char *buf,
    size_t len);
ssize_t ngx_webrtc_dtls_read(ngx_webrtc_dtls_t *d, u_char *buf, size_t size);
ngx_int_t ngx_webrtc_dtls_write(ngx_webrtc_dtls_t *d, u_char *buf,
    size_t len);
ngx_int_t ngx_webrtc_dtls_timeout(ngx_webrtc_dtls_t *d);
void ngx_webrtc_dtls_shutdown(ngx_webrtc_dtls_t *d);
void ngx_webrtc_dtls_release(ngx_webrtc_dtls_t *d);
ngx_int_t ngx_webrtc_dtls_keys(ngx_webrtc_dtls_t *d, u_char *keys);


#endif /* _NGX_WEBRTC_DTLS_H_INCLUDED_ */
