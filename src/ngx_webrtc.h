
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_H_INCLUDED_
#define _NGX_WEBRTC_H_INCLUDED_


/*
 * What every part of the media core shares: sizes, roles, the core's
 * configuration (filled by the HTTP module's directives), a track's
 * state, and the worker's context.  Nothing here names HTTP: the core
 * below the HTTP handlers knows only these types and its own layers'.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_webrtc_parse.h"
#include "ngx_webrtc_sdp.h"
#include "ngx_webrtc_rtp.h"
#include "ngx_webrtc_rtcp.h"
#include "ngx_webrtc_codec.h"


#define NGX_WEBRTC_ID_LEN            32     /* hex chars, 128 bits */
#define NGX_WEBRTC_UFRAG_LEN         8
#define NGX_WEBRTC_PWD_LEN           24
#define NGX_WEBRTC_ICE_UFRAG_MAX     256    /* a peer's: RFC 8839, 4-256 */
#define NGX_WEBRTC_STREAM_MAX        64
#define NGX_WEBRTC_UA_MAX            160
/* audio, then video: one track, or one per simulcast layer */
#define NGX_WEBRTC_MAX_LAYERS        NGX_WEBRTC_SDP_MAX_LAYERS
#define NGX_WEBRTC_MAX_TRACKS        (1 + NGX_WEBRTC_MAX_LAYERS)
/* a stream's tracks that packagers and recorders read: audio, top video */
#define NGX_WEBRTC_MEDIA_TRACKS      2
#define NGX_WEBRTC_MTU               1200
#define NGX_WEBRTC_CTL_KEY_LEN       16
#define NGX_WEBRTC_SRTCP_ROOM        (16 + 4)  /* tag, E and index */
#define NGX_WEBRTC_FMTP_MAX          256
#define NGX_WEBRTC_WORKERS_MAX       64     /* worker_processes */

#define NGX_WEBRTC_LABEL_MAX         64
#define NGX_WEBRTC_DC_MESSAGE_MAX    (256 * 1024)

#define NGX_WEBRTC_ROLE_PUBLISHER    1
#define NGX_WEBRTC_ROLE_VIEWER       2

/* session states, as shown in the status */
#define NGX_WEBRTC_STATE_NEW         0    /* answer sent, no ICE yet */
#define NGX_WEBRTC_STATE_ICE         1    /* valid STUN seen, DTLS pending */
#define NGX_WEBRTC_STATE_CONNECTED   2    /* DTLS done, SRTP keys set */
#define NGX_WEBRTC_STATE_CLOSED      3

/* webrtc_data_from_viewers */
#define NGX_WEBRTC_DC_OFF            0
#define NGX_WEBRTC_DC_PUBLISHER      1
#define NGX_WEBRTC_DC_ALL            2

/* who wrote a data channel message */
#define NGX_WEBRTC_ORIGIN_PUBLISHER  0
#define NGX_WEBRTC_ORIGIN_VIEWER     1
#define NGX_WEBRTC_ORIGIN_HTTP       2
#define NGX_WEBRTC_ORIGIN_VIEWER_ALL 3    /* a viewer's, for everyone */


/* the main-level directives; the HTTP module owns and fills it */
typedef struct {
    ngx_addr_t                  listen;
    ngx_uint_t                  port_first;
    ngx_uint_t                  port_last;    /* 0: derived from workers */
    ngx_array_t                *candidates;   /* ngx_str_t */
    ngx_flag_t                  ice_tcp;
    size_t                      zone_size;
    ngx_msec_t                  consent_timeout;
    ngx_msec_t                  setup_timeout;
    ngx_msec_t                  takeover_idle;
    ngx_msec_t                  rtcp_interval;
    ngx_uint_t                  max_viewers_total;
    ngx_uint_t                  debug_drop;   /* percent of viewer packets */
    size_t                      dc_max_message;
    size_t                      dc_max_buffered;
    ngx_uint_t                  dc_rate;      /* messages/s per stream */
    ngx_uint_t                  events_max;   /* event streams per worker */
    ngx_flag_t                  hls;          /* a webrtc_hls location */
    ngx_msec_t                  hls_fragment;
    ngx_msec_t                  hls_part;
    ngx_uint_t                  hls_window;   /* segments */
    size_t                      hls_size;     /* store per stream */
    ngx_open_file_t            *session_log;  /* NULL: off */
    ngx_shm_zone_t             *shm_zone;
    ngx_flag_t                  enabled;
} ngx_webrtc_conf_t;


/* per-track state of a session, owned by the session's worker */
typedef struct {
    ngx_uint_t                  kind;         /* NGX_WEBRTC_MEDIA_... */
    ngx_webrtc_codec_e          codec;
    ngx_uint_t                  pt;
    ngx_uint_t                  rtx_pt;       /* 0: none */
    uint32_t                    clock_rate;
    ngx_uint_t                  channels;
    ngx_str_t                   fmtp;

    /* a publisher's track: what arrives */
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

    /*
     * a simulcast layer (RFC 8853): its rid, the SSRC of its
     * retransmissions, its rank by picture size (0: the largest), which
     * is its stream track's (1 + layer); after a change of rank it waits
     * for a keyframe before it writes to its new stream track
     */
    u_char                      rid[NGX_WEBRTC_RID_MAX];
    size_t                      rid_len;
    uint32_t                    rtx_ssrc;
    ngx_uint_t                  layer;
    unsigned                    layer_wait:1;

    /* a viewer's track: stream space to the viewer's numbering */
    uint16_t                    seq_start;    /* random: the first seq is */
                                              /* its low 15 bits */
    uint32_t                    ts_off;
    uint32_t                    out_ssrc;
    ngx_webrtc_out_index_t      out;
    uint32_t                    sent_packets;
    uint32_t                    sent_octets;
    unsigned                    started:1;

    /*
     * a viewer's video: the stream track it gets (1: the top layer) and
     * the one it moves to at that one's next keyframe; pinned through
     * the WHEP layer extension
     */
    ngx_uint_t                  stream_track;
    ngx_uint_t                  target;
    ngx_msec_t                  switch_request;
    uint32_t                    last_ts;      /* the viewer's, last sent */
    ngx_msec_t                  last_msec;
    unsigned                    pinned:1;
} ngx_webrtc_track_t;


/*
 * The worker's context, set up by ngx_webrtc_worker_init(): like
 * ngx_cycle, the environment every layer reads (never a way to call up).
 */
typedef struct {
    ngx_webrtc_conf_t          *conf;
    ngx_log_t                  *log;
    struct ngx_webrtc_shm_ctx_s *shm;
    struct ngx_webrtc_udp_s    *udp;
    struct ngx_webrtc_tcp_s    *tcp;          /* NULL: no ICE-TCP */
    in_port_t                   port;
    in_port_t                   tcp_port;     /* 0: no ICE-TCP */
    ngx_str_t                   fingerprint;  /* "sha-256 AB:..." */
    ngx_uint_t                  generation;
} ngx_webrtc_worker_t;


extern ngx_webrtc_worker_t  *ngx_webrtc_worker;


#endif /* _NGX_WEBRTC_H_INCLUDED_ */
