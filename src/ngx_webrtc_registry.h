
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_REGISTRY_H_INCLUDED_
#define _NGX_WEBRTC_REGISTRY_H_INCLUDED_


#include "ngx_webrtc.h"


/*
 * The zone and its session registry: every worker can find any session
 * (DELETE may land on another worker), enforce one publisher per stream
 * and report all sessions in the status.  A record's counters are
 * written only by the worker that owns the session.
 */


/* status of one track of a session */
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
    uint64_t                    nacks_refused;  /* viewer: over the cap */
    uint64_t                    plis;         /* viewer: PLI/FIR received */
    ngx_uint_t                  rtt;          /* viewer: ms, from RR */
    ngx_uint_t                  fraction_lost;  /* viewer: 1/256, RR */
    ngx_uint_t                  width;
    ngx_uint_t                  height;
    /* simulcast: a publisher's layer, its rank (0: the largest); a */
    /* viewer's video, the rank of the layer it gets */
    u_char                      rid[NGX_WEBRTC_RID_MAX];
    size_t                      rid_len;
    ngx_uint_t                  layer;
} ngx_webrtc_shm_track_t;


typedef struct {
    ngx_queue_t                 queue;
    u_char                      id[NGX_WEBRTC_ID_LEN];
    u_char                      stream[NGX_WEBRTC_STREAM_MAX];
    size_t                      stream_len;
    ngx_uint_t                  role;
    uint32_t                    owner;        /* the creating location */
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
    ngx_uint_t                  srtp_ssrcs;   /* the peer's, accepted */
    uint64_t                    srtp_ssrc_dropped;  /* packets of others */
    ngx_uint_t                  ntracks;
    ngx_webrtc_shm_track_t      tracks[NGX_WEBRTC_MAX_TRACKS];
    uint64_t                    tcp_dropped;  /* viewer: full buffer */
    uint64_t                    tcp_skips;    /* viewer: to a keyframe */

    /* the server's ufrag (and the ETag); a restart writes all four */
    u_char                      ice_ufrag[NGX_WEBRTC_UFRAG_LEN];
    u_char                      ice_pwd[NGX_WEBRTC_PWD_LEN];
    u_char                      ice_remote[NGX_WEBRTC_ICE_UFRAG_MAX];
    size_t                      ice_remote_len;
    ngx_uint_t                  ice_restarts;

    /* a viewer: its video's mid, the layer pinned by the WHEP layer */
    /* extension (0: none), written under the lock */
    u_char                      video_mid[NGX_WEBRTC_RID_MAX];
    size_t                      video_mid_len;
    u_char                      pin_rid[NGX_WEBRTC_RID_MAX];
    size_t                      pin_rid_len;

    ngx_msec_t                  ended;        /* a tombstone since */
    unsigned                    closing:1;
    unsigned                    tombstone:1;
    unsigned                    tcp:1;        /* the path is ICE-TCP */
} ngx_webrtc_shm_session_t;


/* why sessions ended, counted for the status */
#define NGX_WEBRTC_REASONS          16
#define NGX_WEBRTC_REASON_LEN       48

typedef struct {
    u_char                      text[NGX_WEBRTC_REASON_LEN];
    size_t                      len;          /* 0: a free entry */
    uint64_t                    count;
} ngx_webrtc_reason_t;


/*
 * Counters over sessions, for the metrics: a record's, added up; the
 * zone keeps those of freed records so that sums over time only grow.
 */
#define NGX_WEBRTC_KINDS            4     /* a track's kind & 3 */
#define NGX_WEBRTC_SETUP_BUCKETS    8

typedef struct {
    uint64_t                    rx_packets[NGX_WEBRTC_KINDS];  /* published */
    uint64_t                    rx_bytes[NGX_WEBRTC_KINDS];
    uint64_t                    tx_packets[NGX_WEBRTC_KINDS];  /* viewed */
    uint64_t                    tx_bytes[NGX_WEBRTC_KINDS];
    uint64_t                    lost;         /* publishers' packets */
    uint64_t                    keyframe_requests;
    uint64_t                    nacks;        /* viewers': resent */
    uint64_t                    nacks_refused;
    uint64_t                    plis;
    uint64_t                    ssrc_dropped;
    uint64_t                    dc_msgs_in;
    uint64_t                    dc_bytes_in;
    uint64_t                    dc_msgs_out;
    uint64_t                    dc_bytes_out;
    uint64_t                    dc_dropped;
} ngx_webrtc_counters_t;


typedef struct {
    ngx_queue_t                 streams;      /* ngx_webrtc_stream_t */
    ngx_queue_t                 spares;       /* freed, with their rings */
    ngx_uint_t                  nspares;
    ngx_queue_t                 sessions;     /* ngx_webrtc_shm_session_t */
    u_char                      ctl_key[NGX_WEBRTC_CTL_KEY_LEN];
    ngx_uint_t                  nsessions;
    ngx_uint_t                  nviewers;
    ngx_uint_t                  generation;   /* reloads of the zone */
    ngx_webrtc_reason_t         ended[NGX_WEBRTC_REASONS];

    uint64_t                    created[3];   /* sessions, by role */
    ngx_webrtc_counters_t       freed;        /* of records freed */

    /* POST to DTLS connected: a histogram, milliseconds (atomic) */
    ngx_atomic_t                setup[NGX_WEBRTC_SETUP_BUCKETS + 1];
    ngx_atomic_t                setup_ms;
} ngx_webrtc_shm_t;


extern const ngx_msec_t  ngx_webrtc_setup_buckets[NGX_WEBRTC_SETUP_BUCKETS];


typedef struct ngx_webrtc_shm_ctx_s {
    ngx_slab_pool_t            *shpool;
    ngx_webrtc_shm_t           *sh;
} ngx_webrtc_shm_ctx_t;


/* whether workers live, asked once each per sweep */
typedef struct {
    ngx_pid_t                   pid[2 * NGX_WEBRTC_WORKERS_MAX];
    u_char                      alive[2 * NGX_WEBRTC_WORKERS_MAX];
    ngx_uint_t                  n;
} ngx_webrtc_pids_t;


/* what a new session registers */
typedef struct {
    u_char                     *id;
    ngx_str_t                  *stream;
    ngx_uint_t                  role;
    uint32_t                    owner;
    ngx_uint_t                  state;
    ngx_str_t                  *user_agent;
    ngx_webrtc_track_t         *tracks;
    ngx_uint_t                  ntracks;
    u_char                     *ufrag;        /* the server's */
} ngx_webrtc_shm_entry_t;


#define NGX_WEBRTC_ETAGS_MAX        4

/* an ICE restart asked of any worker (PATCH), or only its precondition */
typedef struct {
    ngx_str_t                  *stream;
    u_char                     *id;
    uint32_t                    owner;
    /* If-Match: the entity tags' values, UFRAG_LEN each; none: "*" */
    u_char                     *etags[NGX_WEBRTC_ETAGS_MAX];
    ngx_uint_t                  netags;
    ngx_uint_t                  any;          /* "*" */
    /* the new credentials; ufrag NULL: the precondition only */
    u_char                     *ufrag;
    u_char                     *pwd;
    ngx_str_t                   remote;
    /* out: the owner */
    ngx_pid_t                   pid;
    in_port_t                   port;
} ngx_webrtc_shm_restart_t;


ngx_int_t ngx_webrtc_registry_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_int_t ngx_webrtc_registry_add(ngx_webrtc_shm_entry_t *e,
    ngx_msec_t takeover_idle, ngx_webrtc_shm_session_t **ss,
    ngx_webrtc_shm_session_t *replaced, ngx_log_t *log);
void ngx_webrtc_registry_remove(ngx_webrtc_shm_session_t *ss,
    const char *reason);
ngx_int_t ngx_webrtc_registry_lookup(ngx_str_t *stream, u_char *id,
    uint32_t owner, ngx_pid_t *pid, in_port_t *port);
void ngx_webrtc_registry_mark_closing(u_char *id);
ngx_int_t ngx_webrtc_registry_restart(ngx_webrtc_shm_restart_t *rs);
void ngx_webrtc_registry_ice(ngx_webrtc_shm_session_t *ss, u_char *ufrag,
    u_char *pwd, u_char *remote, size_t *remote_len);
ngx_int_t ngx_webrtc_registry_pin(ngx_str_t *stream, u_char *id,
    uint32_t owner, ngx_str_t *mid, ngx_str_t *rid, ngx_pid_t *pid,
    in_port_t *port);
void ngx_webrtc_registry_set_remote(ngx_webrtc_shm_session_t *ss,
    struct sockaddr *sa, socklen_t socklen);
ngx_msec_int_t ngx_webrtc_registry_since(ngx_msec_t t);
void ngx_webrtc_registry_sweep_locked(ngx_webrtc_pids_t *pids);
ngx_uint_t ngx_webrtc_registry_pid_alive(ngx_webrtc_pids_t *pids,
    ngx_pid_t pid);
void ngx_webrtc_registry_count(ngx_webrtc_counters_t *c,
    ngx_webrtc_shm_session_t *ss);
void ngx_webrtc_registry_connected(ngx_msec_t ms);
void ngx_webrtc_registry_bitrate(ngx_webrtc_track_t *t,
    ngx_webrtc_shm_track_t *st, ngx_msec_t now);


#endif /* _NGX_WEBRTC_REGISTRY_H_INCLUDED_ */
