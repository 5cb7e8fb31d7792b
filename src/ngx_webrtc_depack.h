
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_DEPACK_H_INCLUDED_
#define _NGX_WEBRTC_DEPACK_H_INCLUDED_


#include "ngx_webrtc_codec.h"


/*
 * RTP payloads to the frames an MP4 sample holds: H264 (RFC 6184: single
 * NAL units, STAP-A, FU-A) to length-prefixed NAL units, keeping the last
 * SPS and PPS for the avcC record; Opus payloads as they are.  The
 * caller gives the frame buffer; nothing is allocated.
 */


#define NGX_WEBRTC_DEPACK_PS_MAX     256

/* what ngx_webrtc_depack_add() says */
#define NGX_WEBRTC_DEPACK_MORE       0    /* the frame goes on */
#define NGX_WEBRTC_DEPACK_FRAME      1    /* a whole frame is in buf */
#define NGX_WEBRTC_DEPACK_DROPPED    2    /* a broken frame was dropped */


typedef struct {
    ngx_webrtc_codec_e          codec;

    u_char                     *buf;          /* the caller's */
    size_t                      size;
    size_t                      len;          /* bytes of the frame */
    uint32_t                    ts;           /* its RTP timestamp */
    uint64_t                    next_seq;     /* expected packet index */

    u_char                      sps[NGX_WEBRTC_DEPACK_PS_MAX];
    size_t                      sps_len;
    u_char                      pps[NGX_WEBRTC_DEPACK_PS_MAX];
    size_t                      pps_len;
    unsigned                    width;
    unsigned                    height;

    size_t                      fu_start;     /* the FU-A's length prefix */

    unsigned                    started:1;    /* a frame is being built */
    unsigned                    keyframe:1;   /* it holds an IDR */
    unsigned                    broken:1;     /* a packet of it is lost */
    unsigned                    fu:1;         /* inside an FU-A */
    unsigned                    config_changed:1;  /* new SPS or PPS */

    /* internal */
    unsigned                    picture:1;    /* the frame has a slice */
    unsigned                    seen:1;       /* next_seq is set */
    unsigned                    delivered:1;  /* FRAME was returned */
} ngx_webrtc_depack_t;


/*
 * Adds the payload of the packet with index seq (consecutive packets have
 * consecutive indexes), RTP timestamp ts and marker bit to the frame being
 * built.  The marker ends an H264 frame; every Opus packet is a frame.  On
 * NGX_WEBRTC_DEPACK_FRAME, d->buf[0 .. d->len), d->ts and d->keyframe
 * hold the frame until the next call; a frame with a lost packet (a gap in
 * seq), or too big for the buffer, is dropped and said to be.  Returns -1
 * for a payload malformed for the codec (the frame is then broken).
 *
 * A packet whose timestamp differs from the started frame's must be
 * preceded by ngx_webrtc_depack_end(): the caller sees the end of a frame
 * whose marker was lost.
 *
 * In detail: a gap just before a frame's first packet breaks that frame
 * too (the lost packet may have been its start); so do an FU-A without
 * its start or end and a second timestamp in one frame.  If a malformed
 * payload carries the marker, the broken frame ends with it (-1 says so,
 * no DROPPED follows).  A frame with no slice (SPS, PPS, SEI alone) ends
 * with MORE: there is no sample, the parameter sets are kept.  Frames
 * keep their SPS and PPS; access unit delimiters are left out.
 * config_changed is set when a new SPS or PPS is kept, and cleared when
 * the frame after the next FRAME starts: a caller sees it with the FRAME
 * that brought the change (or the first FRAME after a dropped one).
 */
int ngx_webrtc_depack_add(ngx_webrtc_depack_t *d, uint64_t seq, uint32_t ts,
    unsigned marker, u_char *p, size_t len);

/* ends the started frame: FRAME, DROPPED, or MORE if none was started */
int ngx_webrtc_depack_end(ngx_webrtc_depack_t *d);

/*
 * the avcC record from the last SPS and PPS; its size, 0 if none or short;
 * profiles 100, 110, 122, 144 and 244 get chroma_format and bit depths
 */
size_t ngx_webrtc_depack_avcc(ngx_webrtc_depack_t *d, u_char *buf,
    size_t size);


#endif /* _NGX_WEBRTC_DEPACK_H_INCLUDED_ */
