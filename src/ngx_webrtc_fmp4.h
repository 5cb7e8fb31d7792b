
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_FMP4_H_INCLUDED_
#define _NGX_WEBRTC_FMP4_H_INCLUDED_


#include "ngx_webrtc_codec.h"


/*
 * A CMAF fragmented MP4 writer (ISO/IEC 14496-12, 14496-15, the Opus in
 * ISOBMFF encapsulation): the init segment (ftyp + moov) of up to two
 * tracks and fragments (moof + mdat) of their samples.  It writes into
 * the caller's buffer and allocates nothing, as the parsers do, so that
 * the unit tests and fuzz targets link it alone.
 */


typedef struct {
    uint32_t                    size;
    uint32_t                    duration;     /* in the track's timescale */
    int32_t                     cts_offset;   /* composition - decode */
    unsigned                    sync:1;       /* a keyframe; audio: all */
} ngx_webrtc_fmp4_sample_t;


typedef struct {
    uint32_t                    id;           /* track_ID, from 1 */
    ngx_webrtc_codec_e          codec;        /* H264, H265, AV1, VP9, OPUS */
    uint32_t                    timescale;    /* 90000, 48000 */

    /*
     * video: the decoder configuration record, ngx_webrtc_depack_config():
     * avcC, hvcC, av1C, or the VPCodecConfigurationRecord (vpcC version 1)
     */
    unsigned                    width;
    unsigned                    height;
    u_char                     *config;
    size_t                      config_len;

    /* audio */
    unsigned                    channels;
    unsigned                    pre_skip;
    uint32_t                    sample_rate;
} ngx_webrtc_fmp4_track_t;


/* the samples of one track in a fragment, their bytes one after another */
typedef struct {
    uint32_t                    id;
    uint64_t                    base_time;    /* tfdt, timescale units */
    ngx_webrtc_fmp4_sample_t   *samples;
    size_t                      nsamples;
    u_char                     *data;
    size_t                      len;
} ngx_webrtc_fmp4_run_t;


/*
 * ftyp + moov; returns the size written, 0 if buf is too short, a track
 * is not H264, H265, AV1, VP9 or OPUS, has id 0 or timescale 0, or video
 * has no config.
 * Opus: channels other than 1 are written as 2 (mapping family 0), a
 * sample_rate of 0 as 48000.
 */
size_t ngx_webrtc_fmp4_init(u_char *buf, size_t size,
    ngx_webrtc_fmp4_track_t *tracks, size_t ntracks);

/*
 * moof (mfhd with seq, a traf per run: tfhd default-base-is-moof, tfdt
 * version 1, trun with sizes, durations, flags and composition offsets)
 * and one mdat holding the runs' data in order; returns the size written,
 * 0 if buf is too short, a run's sample sizes do not add up to its len, or
 * the fragment would pass 2 GB.
 */
size_t ngx_webrtc_fmp4_fragment(u_char *buf, size_t size, uint32_t seq,
    ngx_webrtc_fmp4_run_t *runs, size_t nruns);

/*
 * the RFC 6381 CODECS value from the configuration record: "avc1.64001f",
 * "hvc1.1.6.L93.B0", "av01.0.04M.08", "vp09.00.10.08", "opus"; returns
 * its length (no NUL is written), 0 if buf is too short or the codec has
 * none
 */
size_t ngx_webrtc_fmp4_codecs(u_char *buf, size_t size,
    ngx_webrtc_fmp4_track_t *t);


#endif /* _NGX_WEBRTC_FMP4_H_INCLUDED_ */
