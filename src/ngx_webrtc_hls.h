
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_HLS_H_INCLUDED_
#define _NGX_WEBRTC_HLS_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_stream.h"


/*
 * HLS of a live stream: the packager, in the publisher's worker, reads the
 * stream's ring and cuts CMAF parts and segments into the stream's HLS
 * store, one block of shared memory (webrtc_hls_size) that any worker
 * reads to answer playlists, parts and segments.
 */


#define NGX_WEBRTC_HLS_PARTS         1024   /* a power of 2 */
#define NGX_WEBRTC_HLS_SEGMENTS      64     /* a power of 2 */
#define NGX_WEBRTC_HLS_INITS         4      /* a power of 2 */
#define NGX_WEBRTC_HLS_INIT_MAX      2048
#define NGX_WEBRTC_HLS_CODECS_MAX    48

/* why a stream has no HLS */
#define NGX_WEBRTC_HLS_OK            0
#define NGX_WEBRTC_HLS_CODEC         1    /* its video codec cannot be */


typedef struct {
    uint64_t                    pos;          /* in the data, ever growing */
    uint32_t                    len;
    uint32_t                    duration;     /* microseconds */
    uint32_t                    msn;
    uint32_t                    part;         /* in its segment */
    unsigned                    independent:1;
} ngx_webrtc_hls_part_t;


typedef struct {
    uint32_t                    msn;
    uint32_t                    init;         /* its init segment's id */
    uint64_t                    first_part;   /* number of its first part */
    uint32_t                    nparts;
    uint64_t                    duration;     /* microseconds */
    int64_t                     pdt;          /* wall clock, milliseconds */
    uint32_t                    disc;         /* discontinuities up to it */
    unsigned                    discontinuity:1;
    unsigned                    complete:1;
} ngx_webrtc_hls_segment_t;


typedef struct {
    uint32_t                    id;
    uint32_t                    len;
    u_char                      codecs[NGX_WEBRTC_HLS_CODECS_MAX];
    size_t                      codecs_len;
    unsigned                    width;        /* 0: no video */
    unsigned                    height;
    u_char                      data[NGX_WEBRTC_HLS_INIT_MAX];
} ngx_webrtc_hls_init_t;


/* the store: written under the zone's lock by the packager, read by all */
typedef struct {
    ngx_pid_t                   writer;       /* the packager's worker */
    uint32_t                    gen;          /* the packager's number */
    int64_t                     end_us;       /* timeline at the last part */
    uint32_t                    epoch;        /* in every URI: random */
    ngx_uint_t                  refused;      /* NGX_WEBRTC_HLS_CODEC */

    uint64_t                    nparts;       /* parts completed */
    uint32_t                    nsegments;    /* segments started */
    uint32_t                    ninits;
    uint32_t                    target;       /* TARGETDURATION, seconds */
    unsigned                    ended:1;      /* no publisher: ENDLIST */

    ngx_webrtc_hls_part_t       parts[NGX_WEBRTC_HLS_PARTS];
    ngx_webrtc_hls_segment_t    segments[NGX_WEBRTC_HLS_SEGMENTS];
    ngx_webrtc_hls_init_t       inits[NGX_WEBRTC_HLS_INITS];

    volatile uint64_t           reserved;     /* data written up to, soon */
    volatile uint64_t           written;      /* data written up to */
    size_t                      size;         /* of data */
    u_char                      data[1];
} ngx_webrtc_hls_t;


/* the worker starts packaging the streams it publishes */
void ngx_webrtc_hls_init(void);
void ngx_webrtc_hls_exit(void);

/* copies [pos, pos + len) of the data; NGX_DECLINED if overwritten */
ngx_int_t ngx_webrtc_hls_copy(ngx_webrtc_hls_t *hls, uint64_t pos,
    size_t len, u_char *buf);


#endif /* _NGX_WEBRTC_HLS_H_INCLUDED_ */
