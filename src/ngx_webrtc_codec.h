
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_CODEC_H_INCLUDED_
#define _NGX_WEBRTC_CODEC_H_INCLUDED_


#include "ngx_webrtc_parse.h"


typedef enum {
    NGX_WEBRTC_CODEC_UNKNOWN = 0,
    NGX_WEBRTC_CODEC_OPUS,
    NGX_WEBRTC_CODEC_H264,
    NGX_WEBRTC_CODEC_VP8,
    NGX_WEBRTC_CODEC_VP9,
    NGX_WEBRTC_CODEC_AV1,
    NGX_WEBRTC_CODEC_H265,
    NGX_WEBRTC_CODEC_RTX,
    NGX_WEBRTC_CODEC_RED,
    NGX_WEBRTC_CODEC_ULPFEC,
    NGX_WEBRTC_CODEC_PCMU,
    NGX_WEBRTC_CODEC_PCMA,
    NGX_WEBRTC_CODEC_G722,
    NGX_WEBRTC_CODEC_TELEPHONE_EVENT,
    NGX_WEBRTC_CODEC_CN,
    NGX_WEBRTC_CODEC_LAST
} ngx_webrtc_codec_e;


/* "opus", "H264", ... as used in status output and SDP answers */
const char *ngx_webrtc_codec_name(ngx_webrtc_codec_e codec);

/* case-insensitive lookup of an rtpmap encoding name */
ngx_webrtc_codec_e ngx_webrtc_codec_by_name(const u_char *name, size_t len);


typedef struct {
    unsigned                    keyframe:1;   /* packet starts/holds a key */
    unsigned                    frame_start:1;
    unsigned                    has_size:1;
    unsigned                    width;
    unsigned                    height;
} ngx_webrtc_frame_info_t;


/*
 * Inspects one RTP payload of the given codec: H264 (RFC 6184: single NAL,
 * STAP-A, FU-A; IDR = keyframe; SPS gives the size), H265 (RFC 7798: IRAP
 * NAL types 16..21, AP, FU; SPS gives the size), VP8 (RFC 7741: payload
 * descriptor, keyframe bit and frame header size), VP9 (RFC 9628 draft
 * descriptor: P bit, SS data size), AV1 (RTP spec aggregation header N bit;
 * sequence header size when present).  Returns -1 when the payload is
 * malformed for that codec; info is cleared first.
 */
int ngx_webrtc_frame_inspect(ngx_webrtc_codec_e codec, u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);

/*
 * Copies profile_idc, constraint flags and level_idc (3 bytes) of the SPS
 * in an H.264 payload, a single NAL or a STAP-A, to profile; returns
 * NGX_WEBRTC_PARSE_ERROR if the payload holds no whole SPS.
 */
int ngx_webrtc_h264_profile(u_char *p, size_t len, u_char *profile);


/*
 * chroma_format_idc and the luma and chroma bit depths (8 to 14) of an SPS
 * NAL unit, header byte included; 1, 8, 8 for the profiles without them.
 */
int ngx_webrtc_h264_sps_format(u_char *p, size_t len, unsigned *chroma,
    unsigned *luma_depth, unsigned *chroma_depth);


/* what the MP4 decoder configuration records (hvcC, av1C, vpcC) say */
typedef struct {
    u_char                      ptl[12];      /* H.265 general_profile_*,
                                                 constraints, level_idc */
    unsigned                    profile;
    unsigned                    level;        /* AV1: seq_level_idx[0] */
    unsigned                    tier;
    unsigned                    bit_depth;
    unsigned                    chroma_bit_depth;
    unsigned                    chroma_format; /* 0 mono, 1 4:2:0, ... */
    unsigned                    sub_layers;   /* H.265 */
    unsigned                    chroma_sample_position;   /* AV1 */
    unsigned                    colour_primaries;
    unsigned                    transfer;
    unsigned                    matrix;
    unsigned                    width;
    unsigned                    height;
    unsigned                    temporal_id_nested:1;     /* H.265 */
    unsigned                    reduced_still_picture:1;  /* AV1 */
    unsigned                    monochrome:1;
    unsigned                    subsampling_x:1;
    unsigned                    subsampling_y:1;
    unsigned                    full_range:1;
} ngx_webrtc_codec_config_t;


/*
 * The configuration of a stream from the unit that carries it: an H.265
 * SPS NAL unit (header included), the payload of an AV1 sequence header
 * OBU (after its header and size), or a VP9 key frame (its uncompressed
 * header).  Returns -1 if it is malformed or shorter than that; cf is
 * cleared first.
 */
int ngx_webrtc_codec_config(ngx_webrtc_codec_e codec, u_char *p, size_t len,
    ngx_webrtc_codec_config_t *cf);

/*
 * the size of the VP9 payload descriptor (RFC 9628) at p, and the spatial
 * layer id of the packet; -1 if malformed or no payload follows
 */
int ngx_webrtc_vp9_descriptor(u_char *p, size_t len, size_t *size,
    unsigned *sid, ngx_webrtc_frame_info_t *info);

/* an AV1 leb128() at *pp, which is moved past it; -1 if malformed */
int ngx_webrtc_av1_leb128(u_char **pp, u_char *last, uint64_t *value);

#endif /* _NGX_WEBRTC_CODEC_H_INCLUDED_ */
