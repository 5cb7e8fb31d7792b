
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_DEPACK_H_INCLUDED_
#define _NGX_WEBRTC_DEPACK_H_INCLUDED_


#include "ngx_webrtc_codec.h"


/*
 * RTP payloads to the frames an MP4 sample holds: H264 (RFC 6184: single
 * NAL units, STAP-A, FU-A) and H265 (RFC 7798: single NAL units, AP, FU)
 * to length-prefixed NAL units, keeping the last parameter sets for the
 * avcC and hvcC records; AV1 (the AV1 RTP payload format) to a temporal
 * unit of low-overhead OBUs, keeping the sequence header for av1C; VP9
 * (RFC 9628) frames without their descriptors, keeping what the last key
 * frame says for vpcC; Opus payloads as they are.  The caller gives the
 * frame buffer; nothing is allocated.
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

    /*
     * H264, H265: the last SPS and PPS; AV1: the last sequence header OBU
     * in sps; VP9: the vpcC record of the last key frame in sps
     */
    u_char                      sps[NGX_WEBRTC_DEPACK_PS_MAX];
    size_t                      sps_len;
    u_char                      pps[NGX_WEBRTC_DEPACK_PS_MAX];
    size_t                      pps_len;
    unsigned                    width;
    unsigned                    height;

    size_t                      fu_start;     /* the FU-A's length prefix,
                                                 the AV1 OBU's start */

    unsigned                    started:1;    /* a frame is being built */
    unsigned                    keyframe:1;   /* it holds an IDR */
    unsigned                    broken:1;     /* a packet of it is lost */
    unsigned                    fu:1;         /* inside an FU-A, an FU,
                                                 an AV1 OBU fragment */
    unsigned                    config_changed:1;  /* new SPS or PPS */

    /* internal */
    unsigned                    picture:1;    /* the frame has a slice */
    unsigned                    seen:1;       /* next_seq is set */
    unsigned                    delivered:1;  /* FRAME was returned */

    /* additions for H265, AV1 and VP9 */
    u_char                      vps[NGX_WEBRTC_DEPACK_PS_MAX];  /* H265 */
    size_t                      vps_len;
    unsigned                    still:1;      /* AV1 reduced still picture */
} ngx_webrtc_depack_t;


/*
 * Adds the payload of the packet with index seq (consecutive packets have
 * consecutive indexes), RTP timestamp ts and marker bit to the frame being
 * built.  The marker ends an H264, H265 or AV1 frame (a temporal unit),
 * the E bit or the marker a VP9 frame; every Opus packet is a frame.  On
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
 *
 * H265: keyframes hold an IRAP picture (NAL types 16..21); VPS, SPS and
 * PPS are kept.  AV1: OBUs are written with obu_has_size_field set;
 * temporal delimiters, tile lists and padding are left out; a keyframe has
 * the N bit or its first frame header is a shown key frame; a temporal unit
 * without a frame (a sequence header alone) ends with MORE.  VP9: a frame
 * starts with the B bit; it is a keyframe if its first packet has P clear
 * and a key frame header; packets of spatial layers above 0 are left out
 * (the base layer decodes alone); superframes are kept as they are.
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

/*
 * the decoder configuration record of the codec, as the MP4 sample entry
 * holds it: avcC, hvcC (the last VPS, SPS, PPS), av1C (with the sequence
 * header OBU), the VPCodecConfigurationRecord of vpcC (version 1, its level
 * computed from the picture size at 30 frames a second); its size, 0 if
 * nothing is known yet, buf is short, or the codec has none
 */
size_t ngx_webrtc_depack_config(ngx_webrtc_depack_t *d, u_char *buf,
    size_t size);


#endif /* _NGX_WEBRTC_DEPACK_H_INCLUDED_ */
