
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_HTTP_WEBRTC_H_INCLUDED_
#define _NGX_HTTP_WEBRTC_H_INCLUDED_


/*
 * The HTTP side: the module's location configuration and what its files
 * share.  The front door (ngx_http_webrtc_handler.c) parses the target
 * and hands each request to the file of its kind.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_webrtc.h"
#include "ngx_webrtc_session.h"
#include "ngx_webrtc_pull.h"
#include "ngx_webrtc_push.h"


#ifndef NGX_HTTP_UNPROCESSABLE_ENTITY
#define NGX_HTTP_UNPROCESSABLE_ENTITY  422
#endif


#define NGX_HTTP_WEBRTC_WHIP     1
#define NGX_HTTP_WEBRTC_STATUS   2
#define NGX_HTTP_WEBRTC_WHEP     3
#define NGX_HTTP_WEBRTC_EVENTS   4
#define NGX_HTTP_WEBRTC_HLS      5
#define NGX_HTTP_WEBRTC_METRICS  6

/* RFC 6585; nginx has no name for it */
#define NGX_HTTP_WEBRTC_PRECONDITION_REQUIRED  428


typedef struct {
    ngx_str_t                   url;
    ngx_str_t                   username;
    ngx_str_t                   credential;
    ngx_str_t                   secret;       /* TURN REST API secret */
    time_t                      ttl;
} ngx_http_webrtc_ice_server_t;


typedef struct {
    ngx_uint_t                  handler;
    uint32_t                    owner;        /* of its sessions */
    ngx_array_t                *tokens;       /* ngx_str_t */
    ngx_array_t                *ice_servers;  /* ngx_http_webrtc_ice_server_t */
    ngx_array_t                *video_codecs; /* ngx_uint_t codec ids */
    size_t                      max_sdp_size;
    ngx_str_t                   allow_origin;
    ngx_uint_t                  max_viewers;  /* per stream, 0: no limit */
    time_t                      retry_after;
    ngx_flag_t                  viewers_follow; /* publisher gone: keep */
    ngx_uint_t                  dc_viewers;   /* off, publisher, all */
    ngx_str_t                   events_url;   /* SSE Link in WHEP answers */
    ngx_str_t                   record;       /* webrtc_record: directory */
    ngx_uint_t                  metrics_streams;  /* webrtc_metrics streams */
    ngx_webrtc_http_peer_t     *notify;       /* webrtc_notify, NULL: off */
    ngx_webrtc_pull_conf_t     *pull;         /* webrtc_pull, NULL: none */
    ngx_msec_t                  pull_idle;
    ngx_array_t                *pushes;       /* ngx_webrtc_http_peer_t */
    ngx_msec_t                  cascade_timeout;
} ngx_http_webrtc_loc_conf_t;


/* <location>/<stream>[/<id>] */
typedef struct {
    ngx_str_t                   stream;
    ngx_str_t                   base;        /* the endpoint's URI */
    u_char                     *id;          /* NULL: the endpoint */
    u_char                     *created;     /* the session a POST made */
    void                       *events;      /* an event stream's state */
    unsigned                    layer:1;     /* <id>/layer (WHEP) */
} ngx_http_webrtc_target_t;


extern ngx_module_t  ngx_http_webrtc_module;


/* ngx_http_webrtc_handler.c */
ngx_int_t ngx_http_webrtc_handler(ngx_http_request_t *r);

/* ngx_http_webrtc_layer.c */
ngx_int_t ngx_http_webrtc_layer(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t);

/* ngx_http_webrtc_response.c */
ngx_int_t ngx_http_webrtc_read_body(ngx_http_request_t *r, ngx_str_t *body);
ngx_int_t ngx_http_webrtc_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason);
ngx_int_t ngx_http_webrtc_retry_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *reason);
ngx_int_t ngx_http_webrtc_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b);
ngx_int_t ngx_http_webrtc_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value);
ngx_table_elt_t *ngx_http_webrtc_find_header(ngx_http_request_t *r,
    char *name);
ngx_int_t ngx_http_webrtc_cors(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf);
ngx_int_t ngx_http_webrtc_links(ngx_http_request_t *r,
    ngx_http_webrtc_loc_conf_t *wlcf, ngx_str_t *stream);

/* ngx_http_webrtc_offer.c */
const char *ngx_http_webrtc_offer_check(ngx_webrtc_sdp_selection_t *sel);
ngx_int_t ngx_http_webrtc_offer_session(ngx_http_request_t *r,
    ngx_webrtc_session_t *s, ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_sdp_selection_t *sel);
ngx_int_t ngx_http_webrtc_offer_register(ngx_http_request_t *r,
    ngx_webrtc_session_t *s, ngx_msec_t takeover_idle,
    ngx_webrtc_shm_session_t *replaced);
ngx_int_t ngx_http_webrtc_answer(ngx_http_request_t *r,
    ngx_webrtc_session_t *s, ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_sdp_selection_t *sel, ngx_str_t *base);
void ngx_http_webrtc_answer_transport(ngx_webrtc_sdp_answer_t *ans,
    u_char *ufrag, u_char *pwd, in_port_t port);
ngx_int_t ngx_http_webrtc_etag(ngx_http_request_t *r, u_char *ufrag);
ngx_int_t ngx_http_webrtc_restart_answer(ngx_http_request_t *r,
    ngx_webrtc_sdp_frag_t *frag, u_char *ufrag, u_char *pwd, in_port_t port);

/* ngx_http_webrtc_whip.c */
ngx_int_t ngx_http_webrtc_whip_offer(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t, ngx_webrtc_sdp_t *sdp);

/* ngx_http_webrtc_whep.c */
ngx_int_t ngx_http_webrtc_whep_offer(ngx_http_request_t *r,
    ngx_http_webrtc_target_t *t, ngx_webrtc_sdp_t *sdp);

/* ngx_http_webrtc_events.c */
ngx_int_t ngx_http_webrtc_events_get(ngx_http_request_t *r,
    ngx_str_t *stream);
ngx_int_t ngx_http_webrtc_events_post(ngx_http_request_t *r,
    ngx_str_t *stream, u_char *body, size_t len);

/* ngx_http_webrtc_hls.c */
ngx_int_t ngx_http_webrtc_hls_handler(ngx_http_request_t *r);

/* ngx_http_webrtc_status.c */
ngx_int_t ngx_http_webrtc_status_handler(ngx_http_request_t *r);

/* ngx_http_webrtc_variables.c */
ngx_int_t ngx_http_webrtc_add_variables(ngx_conf_t *cf);
char *ngx_http_webrtc_session_log_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_webrtc_metrics.c */
ngx_int_t ngx_http_webrtc_metrics_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_WEBRTC_H_INCLUDED_ */
