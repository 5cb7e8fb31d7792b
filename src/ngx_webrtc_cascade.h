
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_CASCADE_H_INCLUDED_
#define _NGX_WEBRTC_CASCADE_H_INCLUDED_


#include "ngx_webrtc_session.h"
#include "ngx_webrtc_http_client.h"


/*
 * What a pull (WHEP client) and a push (WHIP client) do alike with a
 * session the server opens itself: write its offer, take the peer's
 * answer (credentials, fingerprint, candidate) and connect to it as the
 * controlling ICE agent and the DTLS client; the session's resource on
 * the peer (Location) for the DELETE.
 */


#define NGX_WEBRTC_CASCADE_OFFER_MAX     8192
#define NGX_WEBRTC_CASCADE_LOCATION_MAX  1024
/* new POSTs at once when the answer names a peer address in use */
#define NGX_WEBRTC_CASCADE_BUSY_RETRIES  6


/* the peer's session resource, for the DELETE */
typedef struct {
    u_char                      data[NGX_WEBRTC_CASCADE_LOCATION_MAX];
    size_t                      len;          /* 0: none */
} ngx_webrtc_cascade_location_t;


size_t ngx_webrtc_cascade_offer(ngx_webrtc_session_t *s, u_char *buf,
    size_t size);
ngx_int_t ngx_webrtc_cascade_answer(ngx_webrtc_session_t *s,
    ngx_webrtc_http_req_t *hr, ngx_webrtc_sdp_t **sdp,
    ngx_webrtc_sdp_remote_t *r, ngx_log_t *log);
ngx_int_t ngx_webrtc_cascade_connect(ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_remote_t *r, ngx_log_t *log);
void ngx_webrtc_cascade_location(ngx_webrtc_http_req_t *hr,
    ngx_webrtc_cascade_location_t *loc, ngx_log_t *log);
void ngx_webrtc_cascade_delete(ngx_webrtc_http_peer_t *peer,
    ngx_webrtc_cascade_location_t *loc);
ngx_uint_t ngx_webrtc_cascade_pt(ngx_webrtc_codec_e codec);
void ngx_webrtc_cascade_state(ngx_webrtc_stream_cascade_t *sc,
    ngx_uint_t state, ngx_uint_t status);
void ngx_webrtc_cascade_url(ngx_webrtc_stream_cascade_t *sc,
    ngx_webrtc_http_peer_t *peer, ngx_str_t *uri);


#endif /* _NGX_WEBRTC_CASCADE_H_INCLUDED_ */
