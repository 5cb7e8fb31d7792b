
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_STREAM_H_INCLUDED_
#define _NGX_WEBRTC_STREAM_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_ring.h"
#include "ngx_webrtc_registry.h"


/*
 * A stream: its record in shared memory (found by name), its publisher's
 * tracks, its rings, and the readers of it in each worker.  A consumer
 * (a worker's viewers of the stream, an event stream, a session's data
 * channels; later a packager, a recorder, a relay) registers a reader
 * and is called when something new is in the rings.
 */


/* the workers of two generations read a stream during a reload */
#define NGX_WEBRTC_STREAM_WORKERS    (2 * NGX_WEBRTC_WORKERS_MAX)

/* what a reader's handler is told */
#define NGX_WEBRTC_READ_NEW          1    /* the rings or publisher moved */
#define NGX_WEBRTC_READ_SHUTDOWN     2    /* the worker is exiting */


typedef struct {
    ngx_uint_t                  kind;         /* 0: track absent */
    ngx_uint_t                  codec;
    uint32_t                    clock_rate;
    ngx_uint_t                  channels;
    u_char                      fmtp[NGX_WEBRTC_FMTP_MAX];
    size_t                      fmtp_len;
    u_char                      profile[3];   /* H264 SPS: profile-level */
    unsigned                    has_profile:1;

    /* a simulcast layer's rid, from its source's first packet */
    u_char                      rid[NGX_WEBRTC_RID_MAX];
    size_t                      rid_len;

    /* writer state: publisher numbering to stream numbering */
    ngx_webrtc_renumber_t       rn;
    uint32_t                    ts_off;
    uint32_t                    last_ts;
    ngx_msec_t                  last_msec;
    unsigned                    started:1;

    /* the source's last sender report, its RTP time in stream numbering */
    uint64_t                    sr_ntp;       /* 0: none yet */
    uint32_t                    sr_ts;

    /* stream index (low bits) -> ring index, for retransmissions */
    uint32_t                    seq_map[NGX_WEBRTC_RING_SLOTS];
} ngx_webrtc_stream_track_t;


/*
 * A worker that holds the stream: its references and viewers, so that
 * they can be taken back when it dies, and whether it has readers to
 * wake.
 */
typedef struct {
    ngx_pid_t                   pid;
    in_port_t                   port;
    ngx_uint_t                  readers;
    ngx_uint_t                  refs;
    ngx_uint_t                  viewers;
    ngx_atomic_t                armed;        /* wants a wake datagram */
} ngx_webrtc_stream_worker_t;


/* a pull or a push of the stream, written by its worker */
#define NGX_WEBRTC_STREAM_PUSHES     4
#define NGX_WEBRTC_CASCADE_URL_MAX   128

#define NGX_WEBRTC_CASCADE_POSTING   1    /* the offer is sent */
#define NGX_WEBRTC_CASCADE_CONNECTING  2  /* answered: ICE, DTLS */
#define NGX_WEBRTC_CASCADE_CONNECTED 3
#define NGX_WEBRTC_CASCADE_RETRYING  4    /* failed: waits to retry */

typedef struct {
    ngx_pid_t                   pid;          /* 0: none */
    u_char                      url[NGX_WEBRTC_CASCADE_URL_MAX];
    size_t                      url_len;
    ngx_uint_t                  state;
    ngx_uint_t                  attempts;
    ngx_uint_t                  status;       /* the peer's last refusal */
} ngx_webrtc_stream_cascade_t;


typedef struct {
    ngx_queue_t                 queue;
    u_char                      name[NGX_WEBRTC_STREAM_MAX];
    size_t                      name_len;
    ngx_uint_t                  refs;         /* publisher and readers */
    ngx_uint_t                  viewers;

    ngx_pid_t                   pub_pid;      /* 0: no publisher */
    unsigned                    close_viewers:1;  /* when pub_pid is 0 */
    in_port_t                   pub_port;
    u_char                      pub_id[NGX_WEBRTC_ID_LEN];
    ngx_msec_t                  last_keyframe_request;
    ngx_atomic_t                keyframe_tracks;  /* bit k: track k's */

    /* cascading (ngx_webrtc_pull.c): the worker pulling the stream */
    ngx_pid_t                   pull_pid;     /* 0: no pull */
    ngx_uint_t                  pull_status;  /* failing: 404, 409, 503 */
    ngx_msec_t                  pull_retry;   /* the next attempt */
    ngx_msec_t                  pull_wanted;  /* a viewer last asked */
    void                       *pull_conf;    /* in pull_generation's */
    ngx_uint_t                  pull_generation;  /* workers */
    unsigned                    pull_orphan:1;  /* its worker died */

    /* the pull's and the pushes' states, for the status */
    ngx_webrtc_stream_cascade_t pull;
    ngx_webrtc_stream_cascade_t push[NGX_WEBRTC_STREAM_PUSHES];

    ngx_webrtc_stream_track_t   tracks[NGX_WEBRTC_MAX_TRACKS];
    ngx_webrtc_stream_worker_t  workers[NGX_WEBRTC_STREAM_WORKERS];

    ngx_webrtc_ring_t           ring;
    ngx_webrtc_mring_t          mring;
    time_t                      rate_sec;
    ngx_uint_t                  rate_count;
    time_t                      rate_dropped; /* last second with drops */

    /* the HLS store (ngx_webrtc_hls.c): one block, freed with the stream */
    void                       *hls;
} ngx_webrtc_stream_t;


/*
 * told in the publisher's worker that a publisher took the stream, with
 * the directory its publish is recorded to (empty: none)
 */
typedef void (*ngx_webrtc_stream_publish_pt)(ngx_webrtc_stream_t *st,
    ngx_str_t *record);


typedef struct ngx_webrtc_reader_s  ngx_webrtc_reader_t;

typedef void (*ngx_webrtc_reader_pt)(ngx_webrtc_reader_t *rd,
    ngx_uint_t event);

struct ngx_webrtc_reader_s {
    ngx_queue_t                 queue;
    struct ngx_webrtc_stream_local_s *local;
    ngx_webrtc_stream_t        *st;
    ngx_webrtc_reader_pt        handler;
    void                       *data;
};


/*
 * A publisher's track in the stream: 0 audio, 1 video or the top
 * simulcast layer (what packagers, recorders and the GOP cache read),
 * 2.. the lower layers by size.
 */
#define ngx_webrtc_stream_track(t)                                           \
    ((t)->kind == NGX_WEBRTC_MEDIA_AUDIO ? 0 : 1 + (t)->layer)


void ngx_webrtc_stream_init(void);
void ngx_webrtc_stream_on_publish(ngx_webrtc_stream_publish_pt handler);
void ngx_webrtc_stream_shutdown(void);
void ngx_webrtc_stream_exit(void);

ngx_webrtc_stream_t *ngx_webrtc_stream_acquire(ngx_str_t *name,
    ngx_uint_t create);
void ngx_webrtc_stream_release(ngx_webrtc_stream_t *st);
void ngx_webrtc_stream_viewers(ngx_webrtc_stream_t *st, ngx_int_t n);

ngx_webrtc_stream_t *ngx_webrtc_stream_publish(ngx_str_t *name, u_char *id,
    ngx_webrtc_track_t *tracks, ngx_uint_t ntracks, ngx_str_t *record);
void ngx_webrtc_stream_unpublish(ngx_webrtc_stream_t *st, u_char *id,
    ngx_uint_t close_viewers);
void ngx_webrtc_stream_write(ngx_webrtc_stream_t *st, ngx_webrtc_track_t *t,
    ngx_webrtc_rtp_t *rtp, ngx_uint_t keyframe);
void ngx_webrtc_stream_flush(void);
void ngx_webrtc_stream_wake(void);
void ngx_webrtc_stream_keyframe_request(ngx_webrtc_stream_t *st);
void ngx_webrtc_stream_layer_keyframe(ngx_webrtc_stream_t *st, ngx_uint_t k);
ngx_uint_t ngx_webrtc_stream_keyframe_tracks(ngx_webrtc_stream_t *st);
ngx_uint_t ngx_webrtc_stream_layer(ngx_webrtc_stream_t *st, u_char *rid,
    size_t len);
void ngx_webrtc_stream_sender_report(ngx_webrtc_stream_t *st,
    ngx_webrtc_track_t *t, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts);
ngx_int_t ngx_webrtc_stream_message(ngx_webrtc_stream_t *st,
    ngx_uint_t origin, u_char *origin_id, ngx_str_t *label,
    ngx_uint_t binary, u_char *data, size_t len);
ngx_int_t ngx_webrtc_stream_messages_on(ngx_webrtc_stream_t *st);

ngx_int_t ngx_webrtc_stream_reader_add(ngx_webrtc_reader_t *rd);
void ngx_webrtc_stream_reader_del(ngx_webrtc_reader_t *rd);
void ngx_webrtc_stream_rearm(ngx_webrtc_reader_t *rd);

ngx_uint_t ngx_webrtc_stream_sweep_locked(ngx_webrtc_pids_t *pids);


#endif /* _NGX_WEBRTC_STREAM_H_INCLUDED_ */
