
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_H_INCLUDED_
#define _NGX_WEBRTC_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <openssl/ssl.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <srtp2/srtp.h>

#include "ngx_webrtc_parse.h"
#include "ngx_webrtc_sdp.h"
#include "ngx_webrtc_rtp.h"
#include "ngx_webrtc_rtcp.h"
#include "ngx_webrtc_codec.h"
#include "ngx_webrtc_gcm.h"


#define NGX_WEBRTC_ID_LEN            32     /* hex chars, 128 bits */
#define NGX_WEBRTC_UFRAG_LEN         8
#define NGX_WEBRTC_PWD_LEN           24
#define NGX_WEBRTC_STREAM_MAX        64
#define NGX_WEBRTC_UA_MAX            160
#define NGX_WEBRTC_MAX_TRACKS        2
#define NGX_WEBRTC_MTU               1200
#define NGX_WEBRTC_DTLS_ALERT        21     /* record content type */
#define NGX_WEBRTC_ALERT_GRACE       4000   /* ms, see session_alert() */
#define NGX_WEBRTC_CTL_KEY_LEN       16
#define NGX_WEBRTC_RING_SLOTS        2048   /* a power of 2 */
#define NGX_WEBRTC_SLOT_DATA         1400
#define NGX_WEBRTC_SRTCP_ROOM        (16 + 4)  /* tag, E and index */
#define NGX_WEBRTC_STREAM_WORKERS    16
#define NGX_WEBRTC_FMTP_MAX          256

#define NGX_WEBRTC_DRING_SIZE        (1024 * 1024)   /* data ring bytes */
#define NGX_WEBRTC_DRING_IDS         256
#define NGX_WEBRTC_MAX_CHANNELS      16
#define NGX_WEBRTC_LABEL_MAX         64
#define NGX_WEBRTC_DC_MESSAGE_MAX    (256 * 1024)

#define NGX_WEBRTC_CTL_CLOSE         'C'
#define NGX_WEBRTC_CTL_WAKE          'W'
#define NGX_WEBRTC_CTL_KEYFRAME      'K'

#define NGX_WEBRTC_ROLE_PUBLISHER    1
#define NGX_WEBRTC_ROLE_VIEWER       2

/* session states, as shown in the status */
#define NGX_WEBRTC_STATE_NEW         0    /* answer sent, no ICE yet */
#define NGX_WEBRTC_STATE_ICE         1    /* valid STUN seen, DTLS pending */
#define NGX_WEBRTC_STATE_CONNECTED   2    /* DTLS done, SRTP keys set */
#define NGX_WEBRTC_STATE_CLOSED      3


typedef struct ngx_webrtc_session_s  ngx_webrtc_session_t;


typedef struct {
    ngx_str_t                   url;
    ngx_str_t                   username;
    ngx_str_t                   credential;
    ngx_str_t                   secret;       /* TURN REST API secret */
    time_t                      ttl;
} ngx_webrtc_ice_server_t;


typedef struct {
    ngx_addr_t                  listen;
    ngx_uint_t                  port_first;
    ngx_uint_t                  port_last;    /* 0: derived from workers */
    ngx_array_t                *candidates;   /* ngx_str_t */
    size_t                      zone_size;
    ngx_msec_t                  consent_timeout;
    ngx_msec_t                  takeover_idle;
    ngx_msec_t                  rtcp_interval;
    ngx_uint_t                  max_viewers_total;
    ngx_uint_t                  debug_drop;   /* percent of viewer packets */
    size_t                      dc_max_message;
    size_t                      dc_max_buffered;
    ngx_uint_t                  dc_rate;      /* messages/s per stream */
    ngx_shm_zone_t             *shm_zone;
    ngx_flag_t                  enabled;
} ngx_http_webrtc_main_conf_t;


#ifndef NGX_HTTP_UNPROCESSABLE_ENTITY
#define NGX_HTTP_UNPROCESSABLE_ENTITY  422
#endif


#define NGX_HTTP_WEBRTC_WHIP     1
#define NGX_HTTP_WEBRTC_STATUS   2
#define NGX_HTTP_WEBRTC_WHEP     3
#define NGX_HTTP_WEBRTC_EVENTS   4

#define NGX_WEBRTC_DC_OFF        0
#define NGX_WEBRTC_DC_PUBLISHER  1
#define NGX_WEBRTC_DC_ALL        2

#define NGX_WEBRTC_ORIGIN_PUBLISHER  0
#define NGX_WEBRTC_ORIGIN_VIEWER     1
#define NGX_WEBRTC_ORIGIN_HTTP       2
#define NGX_WEBRTC_ORIGIN_VIEWER_ALL 3    /* a viewer's, for everyone */


typedef struct {
    ngx_uint_t                  handler;
    ngx_array_t                *tokens;       /* ngx_str_t */
    ngx_array_t                *ice_servers;  /* ngx_webrtc_ice_server_t */
    ngx_array_t                *video_codecs; /* ngx_uint_t codec ids */
    size_t                      max_sdp_size;
    ngx_str_t                   allow_origin;
    ngx_uint_t                  max_viewers;  /* per stream, 0: no limit */
    time_t                      retry_after;
    ngx_flag_t                  viewers_follow; /* publisher gone: keep */
    ngx_uint_t                  dc_viewers;   /* off, publisher, all */
    ngx_str_t                   events_url;   /* SSE Link in WHEP answers */
} ngx_http_webrtc_loc_conf_t;


/* per-track receive state, owned by the session's worker */
typedef struct {
    ngx_uint_t                  kind;         /* NGX_WEBRTC_MEDIA_... */
    ngx_webrtc_codec_e          codec;
    ngx_uint_t                  pt;
    ngx_uint_t                  rtx_pt;       /* 0: none */
    uint32_t                    clock_rate;
    ngx_uint_t                  channels;
    ngx_str_t                   fmtp;
    uint32_t                    ssrc;
    ngx_webrtc_rtp_source_t     source;
    uint32_t                    sr_lsr;       /* middle 32 bits of SR NTP */
    ngx_msec_t                  sr_time;
    uint64_t                    bytes_at_tick;
    ngx_msec_t                  tick_time;
    uint32_t                    keyframe_ts;
    uint8_t                     fir_seq;
    unsigned                    keyframe_seen:1;
    unsigned                    fb_pli:1;
    unsigned                    fb_fir:1;

    /* a viewer's track: stream space to the viewer's numbering */
    uint16_t                    seq_off;
    uint32_t                    ts_off;
    uint32_t                    out_ssrc;
    uint64_t                    out_index;    /* highest SRTP index sent */
    uint32_t                    sent_packets;
    uint32_t                    sent_octets;
    unsigned                    started:1;
} ngx_webrtc_track_t;


/* status of one session in shared memory, written only by its worker */
typedef struct {
    ngx_uint_t                  kind;
    ngx_uint_t                  codec;
    uint64_t                    packets;
    uint64_t                    bytes;
    uint64_t                    keyframes;
    uint64_t                    lost;
    uint64_t                    bitrate;
    uint64_t                    keyframe_requests;
    uint64_t                    nacks;        /* viewer: packets resent */
    uint64_t                    plis;         /* viewer: PLI/FIR received */
    ngx_uint_t                  rtt;          /* viewer: ms, from RR */
    ngx_uint_t                  fraction_lost;  /* viewer: 1/256, RR */
    ngx_uint_t                  width;
    ngx_uint_t                  height;
} ngx_webrtc_shm_track_t;


typedef struct {
    ngx_queue_t                 queue;
    u_char                      id[NGX_WEBRTC_ID_LEN];
    u_char                      stream[NGX_WEBRTC_STREAM_MAX];
    size_t                      stream_len;
    ngx_uint_t                  role;
    ngx_pid_t                   pid;
    in_port_t                   port;         /* owner worker's UDP port */
    ngx_uint_t                  state;
    time_t                      start;
    ngx_msec_t                  last_rx;      /* ngx_current_msec */
    u_char                      remote[NGX_SOCKADDR_STRLEN];
    size_t                      remote_len;
    u_char                      user_agent[NGX_WEBRTC_UA_MAX];
    size_t                      user_agent_len;
    ngx_uint_t                  channels;     /* open data channels */
    uint64_t                    dc_msgs_in;
    uint64_t                    dc_bytes_in;
    uint64_t                    dc_msgs_out;
    uint64_t                    dc_bytes_out;
    uint64_t                    dc_dropped;
    ngx_uint_t                  ntracks;
    ngx_webrtc_shm_track_t      tracks[NGX_WEBRTC_MAX_TRACKS];
    ngx_msec_t                  ended;        /* a tombstone since */
    unsigned                    closing:1;
    unsigned                    tombstone:1;
} ngx_webrtc_shm_session_t;


/* one RTP payload in a stream's ring, in stream numbering */
typedef struct {
    volatile uint64_t           idx;          /* ring index; ~0: writing */
    uint32_t                    ts;
    uint16_t                    seq;
    uint16_t                    len;
    uint8_t                     track;
    uint8_t                     marker;
    uint8_t                     keyframe;     /* first packet of a key */
    u_char                      data[NGX_WEBRTC_SLOT_DATA];
} ngx_webrtc_slot_t;


typedef struct {
    ngx_uint_t                  kind;         /* 0: track absent */
    ngx_uint_t                  codec;
    uint32_t                    clock_rate;
    ngx_uint_t                  channels;
    u_char                      fmtp[NGX_WEBRTC_FMTP_MAX];
    size_t                      fmtp_len;
    u_char                      profile[3];   /* H264 SPS: profile-level */
    unsigned                    has_profile:1;

    /* writer state: publisher numbering to stream numbering */
    uint32_t                    pub_ssrc;
    uint16_t                    seq_off;
    uint32_t                    ts_off;
    uint16_t                    next_seq;
    uint32_t                    last_ts;
    ngx_msec_t                  last_msec;
    unsigned                    started:1;

    /* stream seq -> ring index, for retransmissions */
    uint32_t                    seq_map[NGX_WEBRTC_RING_SLOTS];
} ngx_webrtc_shm_strack_t;


typedef struct {
    ngx_pid_t                   pid;
    in_port_t                   port;
    ngx_uint_t                  viewers;
    ngx_atomic_t                armed;        /* wants a wake datagram */
} ngx_webrtc_shm_sworker_t;


/* a data channel message in a stream's ring: label and data follow */
typedef struct {
    uint64_t                    id;           /* 0: padding to the end */
    uint32_t                    size;         /* whole record, 8-aligned */
    uint32_t                    len;
    uint16_t                    label_len;
    uint8_t                     binary;
    uint8_t                     origin;
    u_char                      origin_id[8];
} ngx_webrtc_drec_t;


typedef struct {
    ngx_queue_t                 queue;
    u_char                      name[NGX_WEBRTC_STREAM_MAX];
    size_t                      name_len;
    ngx_uint_t                  refs;         /* publisher + viewers */
    ngx_uint_t                  viewers;

    volatile uint64_t           write_idx;    /* next index to write */
    volatile uint64_t           keyframe_idx; /* last key start, or ~0 */

    ngx_pid_t                   pub_pid;      /* 0: no publisher */
    unsigned                    close_viewers:1;  /* when pub_pid is 0 */
    in_port_t                   pub_port;
    u_char                      pub_id[NGX_WEBRTC_ID_LEN];
    ngx_msec_t                  last_keyframe_request;

    ngx_webrtc_shm_strack_t     tracks[NGX_WEBRTC_MAX_TRACKS];
    ngx_webrtc_shm_sworker_t    workers[NGX_WEBRTC_STREAM_WORKERS];

    ngx_webrtc_slot_t          *slots;

    /* data channel messages: a byte ring of records, many writers */
    u_char                     *dring;
    volatile uint64_t           dreserved;    /* written up to, soon */
    volatile uint64_t           dwrite;       /* written up to */
    uint64_t                    dnext_id;
    uint64_t                    dids[NGX_WEBRTC_DRING_IDS];  /* id -> pos */
    time_t                      drate_sec;
    ngx_uint_t                  drate_count;
    time_t                      drate_dropped;  /* last second with drops */
} ngx_webrtc_shm_stream_t;


typedef struct {
    ngx_queue_t                 streams;      /* ngx_webrtc_shm_stream_t */
    ngx_queue_t                 sessions;     /* ngx_webrtc_shm_session_t */
    u_char                      ctl_key[NGX_WEBRTC_CTL_KEY_LEN];
    ngx_uint_t                  nsessions;
    ngx_uint_t                  nviewers;
    ngx_uint_t                  generation;   /* reloads of the zone */
} ngx_webrtc_shm_t;


typedef struct {
    ngx_slab_pool_t            *shpool;
    ngx_webrtc_shm_t           *sh;
} ngx_webrtc_shm_ctx_t;


struct ngx_webrtc_session_s {
    ngx_pool_t                 *pool;
    ngx_log_t                   log;
    ngx_queue_t                 queue;
    ngx_rbtree_node_t           ufrag_node;
    ngx_rbtree_node_t           addr_node;

    u_char                      id[NGX_WEBRTC_ID_LEN];
    ngx_str_t                   stream;
    ngx_uint_t                  role;
    ngx_uint_t                  state;

    u_char                      local_ufrag[NGX_WEBRTC_UFRAG_LEN];
    u_char                      local_pwd[NGX_WEBRTC_PWD_LEN];
    ngx_str_t                   remote_ufrag;
    ngx_str_t                   remote_fp_alg;
    ngx_str_t                   remote_fp;

    struct sockaddr_storage     peer;
    socklen_t                   peer_len;

    SSL                        *ssl;
    srtp_t                      srtp_in;
    srtp_t                      srtp_out;

    /* a viewer with AES-GCM: OpenSSL instead of libsrtp2 */
    ngx_webrtc_gcm_t            rtp_out;
    ngx_webrtc_gcm_t            rtcp_out;
    ngx_webrtc_gcm_t            rtcp_in;
    ngx_webrtc_replay_t         rtcp_replay[NGX_WEBRTC_SRTCP_REPLAY];
    uint32_t                    rtcp_index;
    unsigned                    srtp_ready:1;

    ngx_event_t                 dtls_timer;
    ngx_event_t                 consent_timer;
    ngx_event_t                 rtcp_timer;
    ngx_msec_t                  last_consent;

    uint32_t                    local_ssrc;
    ngx_uint_t                  ntracks;
    ngx_webrtc_track_t          tracks[NGX_WEBRTC_MAX_TRACKS];

    ngx_webrtc_shm_session_t   *shm;
    ngx_webrtc_shm_stream_t    *st;

    /* a viewer in its worker's group of the stream */
    struct ngx_webrtc_group_s  *group;
    ngx_queue_t                 group_queue;
    uint64_t                    replay_idx;   /* the cached GOP, paced */
    ngx_queue_t                 replay_queue;

    /* data channels (SCTP over DTLS) */
    struct socket              *sctp;
    ngx_uint_t                  sctp_port;    /* the peer's; 0: none */
    ngx_uint_t                  dc_viewers;   /* from the location */
    struct ngx_webrtc_channel_s *channels;
    ngx_uint_t                  nchannels;
    uint16_t                    next_sid;
    uint64_t                    dcursor;
    ngx_queue_t                 data_queue;
    u_char                     *reasm;
    size_t                      reasm_len;
    size_t                      max_message;  /* the peer's, and ours */

    /*
     * a viewer without data channels frees its SSL once its keys proved to
     * work; the close_notify for the end is made then
     */
    u_char                     *close_notify;
    size_t                      close_notify_len;
    ngx_msec_t                  alert_time;   /* unauthenticated alert */

    unsigned                    has_peer:1;
    unsigned                    replaying:1;
    unsigned                    close_viewers:1;  /* publisher: on leave */
    unsigned                    in_addr_tree:1;
    unsigned                    dtls_done:1;
    unsigned                    dtls_capture:1;
    unsigned                    alert:1;
    unsigned                    closing:1;
};


/* the worker's media state */
typedef struct {
    ngx_connection_t           *udp;
    in_port_t                   port;
    ngx_queue_t                 sessions;
    ngx_rbtree_t                ufrag_tree;
    ngx_rbtree_node_t           ufrag_sentinel;
    ngx_rbtree_t                addr_tree;
    ngx_rbtree_node_t           addr_sentinel;
    SSL_CTX                    *ssl_ctx;
    ngx_str_t                   fingerprint;  /* "sha-256 AB:..." */
    ngx_http_webrtc_main_conf_t *wmcf;
    ngx_webrtc_shm_ctx_t       *shm;
    ngx_log_t                  *log;
    ngx_uint_t                  nsessions;
    ngx_uint_t                  generation;
    ngx_queue_t                 groups;       /* ngx_webrtc_group_t */
    ngx_queue_t                 data_sessions;
    ngx_queue_t                 sse;          /* SSE requests */
    ngx_event_t                 sctp_timer;
    ngx_event_t                 data_event;   /* a posted data pump */
    ngx_queue_t                 replays;      /* viewers catching up */
    ngx_event_t                 replay_event;
    ngx_msec_t                  sctp_time;
    ngx_uint_t                  nsctp;
    ngx_webrtc_shm_stream_t    *dirty[8];     /* written in this batch */
    ngx_uint_t                  ndirty;
} ngx_webrtc_worker_t;


/* the viewers of one stream in one worker, reading the ring together */
typedef struct ngx_webrtc_group_s {
    ngx_queue_t                 queue;
    ngx_webrtc_shm_stream_t    *st;
    uint64_t                    cursor;
    ngx_queue_t                 viewers;
    ngx_uint_t                  nviewers;
    ngx_uint_t                  slot;         /* in st->workers */
} ngx_webrtc_group_t;


extern ngx_module_t          ngx_http_webrtc_module;
extern ngx_webrtc_worker_t  *ngx_webrtc_worker;


/* ngx_webrtc_session.c */
ngx_int_t ngx_webrtc_worker_init(ngx_cycle_t *cycle,
    ngx_http_webrtc_main_conf_t *wmcf);
void ngx_webrtc_worker_exit(ngx_cycle_t *cycle);
ngx_webrtc_session_t *ngx_webrtc_session_create(ngx_log_t *log,
    ngx_str_t *stream, ngx_uint_t role);
void ngx_webrtc_session_close(ngx_webrtc_session_t *s, const char *reason);
ngx_webrtc_session_t *ngx_webrtc_session_find(u_char *id);
ngx_webrtc_session_t *ngx_webrtc_session_by_ufrag(ngx_webrtc_worker_t *w,
    u_char *ufrag, size_t len);
void ngx_webrtc_session_set_peer(ngx_webrtc_session_t *s, struct sockaddr *sa,
    socklen_t socklen);
void ngx_webrtc_session_consent(ngx_webrtc_session_t *s);
void ngx_webrtc_session_alert(ngx_webrtc_session_t *s);
ngx_int_t ngx_webrtc_session_activate(ngx_webrtc_session_t *s);
ngx_int_t ngx_webrtc_send(ngx_webrtc_session_t *s, u_char *buf, size_t len);
ngx_int_t ngx_webrtc_ctl_send(in_port_t port, u_char type, u_char *id);

/* ngx_webrtc_ice.c */
ngx_int_t ngx_webrtc_ice_init(ngx_log_t *log);
void ngx_webrtc_ice_handle(ngx_webrtc_worker_t *w, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen);

/* ngx_webrtc_dtls.c */
ngx_int_t ngx_webrtc_dtls_init(ngx_webrtc_worker_t *w, ngx_log_t *log);
void ngx_webrtc_dtls_cleanup(ngx_webrtc_worker_t *w);
ngx_int_t ngx_webrtc_dtls_create(ngx_webrtc_session_t *s);
void ngx_webrtc_dtls_handle(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
void ngx_webrtc_dtls_shutdown(ngx_webrtc_session_t *s);
void ngx_webrtc_dtls_release(ngx_webrtc_session_t *s);

/* ngx_webrtc_srtp.c */
ngx_int_t ngx_webrtc_srtp_init(ngx_log_t *log);
ngx_int_t ngx_webrtc_srtp_create(ngx_webrtc_session_t *s, ngx_uint_t profile,
    u_char *material);
ssize_t ngx_webrtc_srtp_protect(ngx_webrtc_session_t *s,
    ngx_webrtc_track_t *t, u_char *pkt, u_char *payload, size_t plen);
ngx_int_t ngx_webrtc_srtp_unprotect(ngx_webrtc_session_t *s, u_char *buf,
    size_t *len);
ngx_int_t ngx_webrtc_srtcp_unprotect(ngx_webrtc_session_t *s, u_char *buf,
    size_t *len);
ngx_int_t ngx_webrtc_srtcp_protect(ngx_webrtc_session_t *s, u_char *buf,
    size_t *len);
void ngx_webrtc_srtp_cleanup(ngx_webrtc_session_t *s);

/* ngx_webrtc_media.c */
void ngx_webrtc_media_handle(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
void ngx_webrtc_media_start(ngx_webrtc_session_t *s);
ngx_int_t ngx_webrtc_media_request_keyframe(ngx_webrtc_session_t *s,
    ngx_webrtc_track_t *t);
void ngx_webrtc_media_request_keyframes(ngx_webrtc_session_t *s);

/* ngx_webrtc_stream.c */
ngx_webrtc_shm_stream_t *ngx_webrtc_stream_acquire(ngx_str_t *name,
    ngx_uint_t create);
void ngx_webrtc_stream_release(ngx_webrtc_shm_stream_t *st);
ngx_int_t ngx_webrtc_stream_publish(ngx_webrtc_session_t *s);
void ngx_webrtc_stream_unpublish(ngx_webrtc_session_t *s);
void ngx_webrtc_stream_write(ngx_webrtc_session_t *s, ngx_webrtc_track_t *t,
    ngx_webrtc_rtp_t *rtp, ngx_uint_t keyframe);
void ngx_webrtc_stream_flush(ngx_webrtc_worker_t *w);
void ngx_webrtc_stream_wake(ngx_webrtc_worker_t *w);
struct ngx_webrtc_group_s *ngx_webrtc_stream_group_ref(
    ngx_webrtc_shm_stream_t *st);
void ngx_webrtc_stream_group_unref(struct ngx_webrtc_group_s *g);
void ngx_webrtc_stream_init_worker(ngx_webrtc_worker_t *w);
ngx_int_t ngx_webrtc_viewer_join(ngx_webrtc_session_t *s);
void ngx_webrtc_viewer_replay_stop(ngx_webrtc_session_t *s);
void ngx_webrtc_viewer_leave(ngx_webrtc_session_t *s);
void ngx_webrtc_viewer_start(ngx_webrtc_session_t *s);
void ngx_webrtc_viewer_rtcp(ngx_webrtc_session_t *s, u_char *buf, size_t len);
void ngx_webrtc_viewer_report(ngx_webrtc_session_t *s);
void ngx_webrtc_stream_keyframe_request(ngx_webrtc_shm_stream_t *st);

/* ngx_webrtc_data.c */
ngx_int_t ngx_webrtc_data_init(ngx_webrtc_worker_t *w);
ngx_int_t ngx_webrtc_sctp_start(ngx_webrtc_session_t *s);
void ngx_webrtc_sctp_input(ngx_webrtc_session_t *s, u_char *buf, size_t len);
void ngx_webrtc_sctp_close(ngx_webrtc_session_t *s);
void ngx_webrtc_data_pump(ngx_webrtc_worker_t *w);
ngx_int_t ngx_webrtc_data_write(ngx_webrtc_shm_stream_t *st,
    ngx_uint_t origin, u_char *origin_id, ngx_str_t *label,
    ngx_uint_t binary, u_char *data, size_t len);
ngx_int_t ngx_webrtc_dring_init_locked(ngx_slab_pool_t *shpool,
    ngx_webrtc_shm_stream_t *st);
void ngx_webrtc_data_wake_all(ngx_webrtc_shm_stream_t *st);

/* ngx_http_webrtc_events.c */
ngx_int_t ngx_http_webrtc_events_get(ngx_http_request_t *r,
    ngx_str_t *stream);
ngx_int_t ngx_http_webrtc_events_post(ngx_http_request_t *r,
    ngx_str_t *stream, u_char *body, size_t len);
void ngx_http_webrtc_events_pump(ngx_webrtc_worker_t *w);
void ngx_http_webrtc_events_close_all(ngx_webrtc_worker_t *w);

/* ngx_webrtc_shm.c */
ngx_int_t ngx_webrtc_shm_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_int_t ngx_webrtc_shm_add(ngx_webrtc_session_t *s, ngx_str_t *ua,
    ngx_msec_t takeover_idle, ngx_webrtc_shm_session_t *replaced);
void ngx_webrtc_shm_remove(ngx_webrtc_session_t *s);
ngx_int_t ngx_webrtc_shm_lookup(ngx_str_t *stream, u_char *id,
    ngx_pid_t *pid, in_port_t *port);
void ngx_webrtc_shm_mark_closing(u_char *id);
ngx_int_t ngx_webrtc_ctl_key_check(u_char *key);
void ngx_webrtc_shm_set_remote(ngx_webrtc_session_t *s);

/* ngx_http_webrtc_whip.c */
ngx_int_t ngx_http_webrtc_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_webrtc_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason);
ngx_int_t ngx_http_webrtc_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value);
ngx_int_t ngx_http_webrtc_retry_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *reason);
ngx_int_t ngx_http_webrtc_session_remote(ngx_webrtc_session_t *s,
    ngx_webrtc_sdp_selection_t *sel);
void ngx_http_webrtc_data_setup(ngx_http_request_t *r,
    ngx_webrtc_session_t *s, ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_sdp_selection_t *sel);
ngx_int_t ngx_http_webrtc_answer(ngx_http_request_t *r,
    ngx_webrtc_session_t *s, ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_sdp_selection_t *sel, ngx_str_t *base);

/* ngx_http_webrtc_whep.c */
ngx_int_t ngx_http_webrtc_whep_offer(ngx_http_request_t *r,
    ngx_str_t *stream, ngx_str_t *base, ngx_webrtc_sdp_t *sdp);

/* ngx_http_webrtc_status.c */
ngx_int_t ngx_http_webrtc_status_handler(ngx_http_request_t *r);


#endif /* _NGX_WEBRTC_H_INCLUDED_ */
