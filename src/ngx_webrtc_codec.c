/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * The codecs: their names (rtpmap encoding names, also in configuration
 * and status), and what the server learns from a video payload without
 * decoding it: does it start a frame, is it a keyframe (a new viewer
 * starts at one), and the picture size where the packet carries it (SPS,
 * VP8/VP9 key frame header, AV1 sequence header).
 */

#include "ngx_webrtc_codec.h"
#include "ngx_webrtc_codec_bits.h"



typedef void (*ngx_webrtc_nal_pt)(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);



static int ngx_webrtc_nal_units(u_char *p, u_char *last, size_t min,
    ngx_webrtc_nal_pt nal, ngx_webrtc_frame_info_t *info);
static int ngx_webrtc_h264_inspect(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static void ngx_webrtc_h264_nal(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static unsigned ngx_webrtc_h264_first(unsigned type, u_char *p, size_t len);
static unsigned ngx_webrtc_h264_high(uint32_t profile);
static int ngx_webrtc_h264_sps(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static int ngx_webrtc_h265_inspect(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static void ngx_webrtc_h265_nal(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static unsigned ngx_webrtc_h265_first(unsigned type, u_char *p, size_t len);
static int ngx_webrtc_h265_sps(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static int ngx_webrtc_h265_sps_parse(u_char *p, size_t len,
    ngx_webrtc_codec_config_t *cf);
static int ngx_webrtc_vp8_inspect(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static int ngx_webrtc_vp9_inspect(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static int ngx_webrtc_vp9_frame_size(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static int ngx_webrtc_vp9_header(u_char *p, size_t len,
    ngx_webrtc_codec_config_t *cf);


static const char  *ngx_webrtc_codec_names[] = {
    "unknown",
    "opus",
    "H264",
    "VP8",
    "VP9",
    "AV1",
    "H265",
    "rtx",
    "red",
    "ulpfec",
    "PCMU",
    "PCMA",
    "G722",
    "telephone-event",
    "CN"
};


const char *
ngx_webrtc_codec_name(ngx_webrtc_codec_e codec)
{
    if ((unsigned) codec >= NGX_WEBRTC_CODEC_LAST) {
        return ngx_webrtc_codec_names[0];
    }

    return ngx_webrtc_codec_names[codec];
}


ngx_webrtc_codec_e
ngx_webrtc_codec_by_name(const u_char *name, size_t len)
{
    unsigned  i;

    for (i = 1; i < NGX_WEBRTC_CODEC_LAST; i++) {
        if (ngx_webrtc_caseeq(name, len, ngx_webrtc_codec_names[i])) {
            return (ngx_webrtc_codec_e) i;
        }
    }

    if (ngx_webrtc_caseeq(name, len, "HEVC")) {
        return NGX_WEBRTC_CODEC_H265;
    }

    return NGX_WEBRTC_CODEC_UNKNOWN;
}


int
ngx_webrtc_frame_inspect(ngx_webrtc_codec_e codec, u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info)
{
    memset(info, 0, sizeof(ngx_webrtc_frame_info_t));

    switch (codec) {

    case NGX_WEBRTC_CODEC_H264:
        return ngx_webrtc_h264_inspect(p, len, info);

    case NGX_WEBRTC_CODEC_H265:
        return ngx_webrtc_h265_inspect(p, len, info);

    case NGX_WEBRTC_CODEC_VP8:
        return ngx_webrtc_vp8_inspect(p, len, info);

    case NGX_WEBRTC_CODEC_VP9:
        return ngx_webrtc_vp9_inspect(p, len, info);

    case NGX_WEBRTC_CODEC_AV1:
        return ngx_webrtc_av1_inspect(p, len, info);

    default:
        return 0;
    }
}


int
ngx_webrtc_codec_config(ngx_webrtc_codec_e codec, u_char *p, size_t len,
    ngx_webrtc_codec_config_t *cf)
{
    memset(cf, 0, sizeof(ngx_webrtc_codec_config_t));

    switch (codec) {

    case NGX_WEBRTC_CODEC_H265:
        return (ngx_webrtc_h265_sps_parse(p, len, cf) == 0) ? 0 : -1;

    case NGX_WEBRTC_CODEC_AV1:
        return (ngx_webrtc_av1_seq_parse(p, len, cf) == 0) ? 0 : -1;

    case NGX_WEBRTC_CODEC_VP9:
        return (ngx_webrtc_vp9_header(p, len, cf) == 0) ? 0 : -1;

    default:
        return -1;
    }
}


/* H.264, RFC 6184 */

/*
 * The units of an aggregation packet (H.264 STAP-A, H.265 AP): each a
 * 16-bit size of at least min bytes, then the unit.
 */

static int
ngx_webrtc_nal_units(u_char *p, u_char *last, size_t min,
    ngx_webrtc_nal_pt nal, ngx_webrtc_frame_info_t *info)
{
    size_t  n;

    if (p == last) {
        return -1;
    }

    while (p < last) {
        if (last - p < 2) {
            return -1;
        }

        n = ngx_webrtc_be16(p);
        p += 2;

        if (n < min || (size_t) (last - p) < n) {
            return -1;
        }

        nal(p, n, info);
        p += n;
    }

    return 0;
}


static int
ngx_webrtc_h264_inspect(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    unsigned  type;

    if (len == 0) {
        return -1;
    }

    type = p[0] & 0x1f;

    switch (type) {

    case 0:
    case 30:
    case 31:
        return -1;

    case 24: /* STAP-A */
        return ngx_webrtc_nal_units(p + 1, p + len, 1, ngx_webrtc_h264_nal,
                                    info);

    case 28: /* FU-A */
        if (len < 2) {
            return -1;
        }

        if (p[1] & 0x80) {
            type = p[1] & 0x1f;
            info->frame_start = ngx_webrtc_h264_first(type, p + 2, len - 2);

            if (type == 5 || type == 7) {
                info->keyframe = 1;
            }
        }

        return 0;

    case 25: /* STAP-B, MTAPs, FU-B: not used by WebRTC */
    case 26:
    case 27:
    case 29:
        return 0;

    default:
        ngx_webrtc_h264_nal(p, len, info);
        return 0;
    }
}


static void
ngx_webrtc_h264_nal(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    unsigned  type;

    type = p[0] & 0x1f;

    if (ngx_webrtc_h264_first(type, p + 1, len - 1)) {
        info->frame_start = 1;
    }

    if (type == 5) {
        info->keyframe = 1;

    } else if (type == 7) {
        info->keyframe = 1;

        if (!info->has_size) {
            /* a bad SPS only costs the size */
            (void) ngx_webrtc_h264_sps(p, len, info);
        }
    }
}


/*
 * Whether a NAL unit, given its type and the bytes after its header, may
 * start a picture: a slice must have first_mb_in_slice 0 (ue(v) "1"), so
 * that the later slices of a multi-slice picture are not frame starts.
 */

static unsigned
ngx_webrtc_h264_first(unsigned type, u_char *p, size_t len)
{
    switch (type) {

    case 1:
    case 2:
    case 5:
        return len > 0 && (p[0] & 0x80);

    case 3:
    case 4:
        return 0;

    default:
        return 1;
    }
}


/* seq_parameter_set_rbsp(), H.264 7.3.2.1.1, up to the cropping window */

static int
ngx_webrtc_h264_sps(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    int32_t            delta, last_scale, next_scale;
    uint32_t           profile, chroma, separate, poc_type, n, i, j, size;
    uint32_t           width_mbs, height_units, frame_mbs_only;
    uint32_t           crop_left, crop_right, crop_top, crop_bottom;
    uint64_t           width, height, unit_x, unit_y;
    ngx_webrtc_bits_t  b;

    if (len < 2) {
        return -1;
    }

    ngx_webrtc_bits_init(&b, p + 1, len - 1, 1);

    profile = ngx_webrtc_bits_read(&b, 8);
    ngx_webrtc_bits_skip(&b, 16);              /* constraints, level_idc */

    if (ngx_webrtc_bits_ue(&b) > 31) {         /* seq_parameter_set_id */
        return -1;
    }

    chroma = 1;
    separate = 0;

    if (ngx_webrtc_h264_high(profile)) {

        chroma = ngx_webrtc_bits_ue(&b);
        if (chroma > 3) {
            return -1;
        }

        if (chroma == 3) {
            separate = ngx_webrtc_bits_read(&b, 1);
        }

        (void) ngx_webrtc_bits_ue(&b);         /* bit_depth_luma_minus8 */
        (void) ngx_webrtc_bits_ue(&b);         /* bit_depth_chroma_minus8 */
        ngx_webrtc_bits_skip(&b, 1);           /* qpprime_y_zero_... */

        if (ngx_webrtc_bits_read(&b, 1)) {     /* seq_scaling_matrix_present */
            n = (chroma != 3) ? 8 : 12;

            for (i = 0; i < n && !b.error; i++) {
                if (!ngx_webrtc_bits_read(&b, 1)) {
                    continue;
                }

                size = (i < 6) ? 16 : 64;
                last_scale = 8;
                next_scale = 8;

                for (j = 0; j < size && !b.error; j++) {
                    if (next_scale != 0) {
                        delta = ngx_webrtc_bits_se(&b);
                        if (delta < -128 || delta > 127) {
                            return -1;
                        }

                        next_scale = (last_scale + delta + 256) % 256;
                    }

                    last_scale = (next_scale == 0) ? last_scale : next_scale;
                }
            }
        }
    }

    if (ngx_webrtc_bits_ue(&b) > 12) {         /* log2_max_frame_num_minus4 */
        return -1;
    }

    poc_type = ngx_webrtc_bits_ue(&b);

    if (poc_type == 0) {
        if (ngx_webrtc_bits_ue(&b) > 12) {
            return -1;
        }

    } else if (poc_type == 1) {
        ngx_webrtc_bits_skip(&b, 1);
        (void) ngx_webrtc_bits_se(&b);
        (void) ngx_webrtc_bits_se(&b);

        n = ngx_webrtc_bits_ue(&b);
        if (n > 255) {
            return -1;
        }

        for (i = 0; i < n && !b.error; i++) {
            (void) ngx_webrtc_bits_se(&b);
        }

    } else if (poc_type != 2) {
        return -1;
    }

    (void) ngx_webrtc_bits_ue(&b);             /* max_num_ref_frames */
    ngx_webrtc_bits_skip(&b, 1);               /* gaps_in_frame_num_... */

    width_mbs = ngx_webrtc_bits_ue(&b);
    height_units = ngx_webrtc_bits_ue(&b);
    frame_mbs_only = ngx_webrtc_bits_read(&b, 1);

    if (!frame_mbs_only) {
        ngx_webrtc_bits_skip(&b, 1);           /* mb_adaptive_frame_field */
    }

    ngx_webrtc_bits_skip(&b, 1);               /* direct_8x8_inference */

    crop_left = 0;
    crop_right = 0;
    crop_top = 0;
    crop_bottom = 0;

    if (ngx_webrtc_bits_read(&b, 1)) {
        crop_left = ngx_webrtc_bits_ue(&b);
        crop_right = ngx_webrtc_bits_ue(&b);
        crop_top = ngx_webrtc_bits_ue(&b);
        crop_bottom = ngx_webrtc_bits_ue(&b);
    }

    if (b.error) {
        return -1;
    }

    width = ((uint64_t) width_mbs + 1) * 16;
    height = ((uint64_t) height_units + 1) * 16 * (2 - frame_mbs_only);

    if (separate || chroma == 0) {
        unit_x = 1;
        unit_y = 2 - frame_mbs_only;

    } else {
        unit_x = (chroma == 3) ? 1 : 2;
        unit_y = ((chroma == 1) ? 2 : 1) * (2 - frame_mbs_only);
    }

    width -= (uint64_t) crop_left * unit_x;
    width -= (uint64_t) crop_right * unit_x;
    height -= (uint64_t) crop_top * unit_y;
    height -= (uint64_t) crop_bottom * unit_y;

    /* underflow wraps to a huge value, which set_size refuses */
    if (((uint64_t) crop_left + crop_right) * unit_x
        >= ((uint64_t) width_mbs + 1) * 16
        || ((uint64_t) crop_top + crop_bottom) * unit_y
           >= ((uint64_t) height_units + 1) * 16 * (2 - frame_mbs_only))
    {
        return -1;
    }

    return ngx_webrtc_set_size(info, width, height);
}


/* the profiles whose SPS has chroma_format_idc and the bit depths */

static unsigned
ngx_webrtc_h264_high(uint32_t profile)
{
    switch (profile) {
    case 100: case 110: case 122: case 244: case 44: case 83:
    case 86: case 118: case 128: case 138: case 139: case 134: case 135:
        return 1;

    default:
        return 0;
    }
}


/*
 * chroma_format_idc and bit depths of an SPS NAL unit, for the avcC
 * record of the high profiles (ISO/IEC 14496-15 5.3.3.1.2); the other
 * profiles are 4:2:0, 8 bits.
 */

int
ngx_webrtc_h264_sps_format(u_char *p, size_t len, unsigned *chroma,
    unsigned *luma_depth, unsigned *chroma_depth)
{
    uint32_t           profile, luma, cdepth;
    ngx_webrtc_bits_t  b;

    if (len < 2 || (p[0] & 0x1f) != 7) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    ngx_webrtc_bits_init(&b, p + 1, len - 1, 1);

    profile = ngx_webrtc_bits_read(&b, 8);
    ngx_webrtc_bits_skip(&b, 16);              /* constraints, level_idc */

    if (ngx_webrtc_bits_ue(&b) > 31) {         /* seq_parameter_set_id */
        return NGX_WEBRTC_PARSE_ERROR;
    }

    *chroma = 1;
    *luma_depth = 8;
    *chroma_depth = 8;

    if (ngx_webrtc_h264_high(profile)) {
        *chroma = ngx_webrtc_bits_ue(&b);

        if (*chroma == 3) {
            ngx_webrtc_bits_skip(&b, 1);       /* separate_colour_plane */
        }

        luma = ngx_webrtc_bits_ue(&b);         /* bit_depth_luma_minus8 */
        cdepth = ngx_webrtc_bits_ue(&b);       /* bit_depth_chroma_minus8 */

        if (*chroma > 3 || luma > 6 || cdepth > 6) {
            return NGX_WEBRTC_PARSE_ERROR;
        }

        *luma_depth = luma + 8;
        *chroma_depth = cdepth + 8;
    }

    return b.error ? NGX_WEBRTC_PARSE_ERROR : NGX_WEBRTC_PARSE_OK;
}


/*
 * profile_idc, constraint flags and level_idc of an SPS in a single NAL
 * or STAP-A packet: what the stream really is, for WHEP answers.
 */

int
ngx_webrtc_h264_profile(u_char *p, size_t len, u_char *profile)
{
    size_t   n;
    u_char  *end;

    end = p + len;

    if (len >= 4 && (p[0] & 0x1f) == 7) {
        memcpy(profile, p + 1, 3);
        return NGX_WEBRTC_PARSE_OK;
    }

    if (len < 1 || (p[0] & 0x1f) != 24) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    for (p++; end - p >= 2; p += n) {
        n = ngx_webrtc_be16(p);
        p += 2;

        if (n > (size_t) (end - p)) {
            break;
        }

        if (n >= 4 && (p[0] & 0x1f) == 7) {
            memcpy(profile, p + 1, 3);
            return NGX_WEBRTC_PARSE_OK;
        }
    }

    return NGX_WEBRTC_PARSE_ERROR;
}


/* H.265, RFC 7798 */

static int
ngx_webrtc_h265_inspect(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    unsigned  type;

    if (len < 2) {
        return -1;
    }

    type = (p[0] >> 1) & 0x3f;

    switch (type) {

    case 48: /* aggregation packet, no DONL: sprop-max-don-diff is 0 */
        return ngx_webrtc_nal_units(p + 2, p + len, 2, ngx_webrtc_h265_nal,
                                    info);

    case 49: /* fragmentation unit */
        if (len < 3) {
            return -1;
        }

        if (p[2] & 0x80) {
            type = p[2] & 0x3f;
            info->frame_start = ngx_webrtc_h265_first(type, p + 3, len - 3);

            if ((type >= 16 && type <= 21) || type == 32 || type == 33) {
                info->keyframe = 1;
            }
        }

        return 0;

    case 50: /* PACI */
        return 0;

    default:
        ngx_webrtc_h265_nal(p, len, info);
        return 0;
    }
}


static void
ngx_webrtc_h265_nal(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    unsigned  type;

    type = (p[0] >> 1) & 0x3f;

    if (ngx_webrtc_h265_first(type, p + 2, len - 2)) {
        info->frame_start = 1;
    }

    if ((type >= 16 && type <= 21) || type == 32) {
        info->keyframe = 1;

    } else if (type == 33) {
        info->keyframe = 1;

        if (!info->has_size) {
            (void) ngx_webrtc_h265_sps(p, len, info);
        }
    }
}


/* as for H.264: a VCL unit starts a picture with first_slice_segment_in_pic */

static unsigned
ngx_webrtc_h265_first(unsigned type, u_char *p, size_t len)
{
    if (type < 32) {
        return len > 0 && (p[0] & 0x80);
    }

    return 1;
}


static int
ngx_webrtc_h265_sps(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    ngx_webrtc_codec_config_t  cf;

    if (ngx_webrtc_h265_sps_parse(p, len, &cf) < 0) {
        return -1;
    }

    return ngx_webrtc_set_size(info, cf.width, cf.height);
}


/*
 * seq_parameter_set_rbsp(), H.265 7.3.2.2.1, up to the bit depths;
 * 1 if only the size could be read
 */

static int
ngx_webrtc_h265_sps_parse(u_char *p, size_t len,
    ngx_webrtc_codec_config_t *cf)
{
    uint32_t           sub_layers, i, chroma, separate, width, height;
    uint32_t           left, right, top, bottom, unit_x, unit_y;
    uint32_t           luma_depth, chroma_depth;
    unsigned           profile_present[8], level_present[8];
    ngx_webrtc_bits_t  b;

    if (len < 3) {
        return -1;
    }

    ngx_webrtc_bits_init(&b, p + 2, len - 2, 1);

    ngx_webrtc_bits_skip(&b, 4);               /* sps_video_parameter_set_id */
    sub_layers = ngx_webrtc_bits_read(&b, 3);  /* sps_max_sub_layers_minus1 */
    cf->temporal_id_nested = ngx_webrtc_bits_read(&b, 1);

    if (sub_layers > 6) {
        return -1;
    }

    /*
     * profile_tier_level(1, sps_max_sub_layers_minus1): the general
     * profile (88 bits) and level (8) are the 12 bytes of hvcC and CODECS
     */

    for (i = 0; i < 12; i++) {
        cf->ptl[i] = (u_char) ngx_webrtc_bits_read(&b, 8);
    }

    for (i = 0; i < sub_layers; i++) {
        profile_present[i] = ngx_webrtc_bits_read(&b, 1);
        level_present[i] = ngx_webrtc_bits_read(&b, 1);
    }

    if (sub_layers > 0) {
        ngx_webrtc_bits_skip(&b, 2 * (8 - sub_layers));
    }

    for (i = 0; i < sub_layers; i++) {
        if (profile_present[i]) {
            ngx_webrtc_bits_skip(&b, 88);
        }

        if (level_present[i]) {
            ngx_webrtc_bits_skip(&b, 8);
        }
    }

    if (ngx_webrtc_bits_ue(&b) > 15) {         /* sps_seq_parameter_set_id */
        return -1;
    }

    chroma = ngx_webrtc_bits_ue(&b);
    if (chroma > 3) {
        return -1;
    }

    separate = 0;

    if (chroma == 3) {
        separate = ngx_webrtc_bits_read(&b, 1);
    }

    width = ngx_webrtc_bits_ue(&b);
    height = ngx_webrtc_bits_ue(&b);

    left = 0;
    right = 0;
    top = 0;
    bottom = 0;

    if (ngx_webrtc_bits_read(&b, 1)) {         /* conformance_window_flag */
        left = ngx_webrtc_bits_ue(&b);
        right = ngx_webrtc_bits_ue(&b);
        top = ngx_webrtc_bits_ue(&b);
        bottom = ngx_webrtc_bits_ue(&b);
    }

    if (b.error) {
        return -1;
    }

    if (separate || chroma == 0 || chroma == 3) {
        unit_x = 1;
        unit_y = 1;

    } else {
        unit_x = 2;
        unit_y = (chroma == 1) ? 2 : 1;
    }

    if (((uint64_t) left + right) * unit_x >= width
        || ((uint64_t) top + bottom) * unit_y >= height
        || width > NGX_WEBRTC_MAX_DIMENSION
        || height > NGX_WEBRTC_MAX_DIMENSION)
    {
        return -1;
    }

    cf->width = width - (left + right) * unit_x;
    cf->height = height - (top + bottom) * unit_y;

    cf->profile = cf->ptl[0] & 0x1f;
    cf->tier = (cf->ptl[0] >> 5) & 1;
    cf->level = cf->ptl[11];
    cf->sub_layers = sub_layers + 1;
    cf->chroma_format = chroma;
    cf->monochrome = (chroma == 0);

    luma_depth = ngx_webrtc_bits_ue(&b);       /* bit_depth_luma_minus8 */
    chroma_depth = ngx_webrtc_bits_ue(&b);     /* bit_depth_chroma_minus8 */

    if (b.error || luma_depth > 8 || chroma_depth > 8) {
        return 1;
    }

    cf->bit_depth = luma_depth + 8;
    cf->chroma_bit_depth = chroma_depth + 8;

    return 0;
}


/* VP8, RFC 7741 */

static int
ngx_webrtc_vp8_inspect(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    u_char  *f;
    size_t   off;
    u_char   x;

    if (len == 0) {
        return -1;
    }

    off = 1;

    if (p[0] & 0x80) {
        if (len < 2) {
            return -1;
        }

        x = p[1];
        off = 2;

        if (x & 0x80) {                        /* I: PictureID, M: 15 bits */
            if (off >= len) {
                return -1;
            }

            off += (p[off] & 0x80) ? 2 : 1;
        }

        if (x & 0x40) {                        /* L: TL0PICIDX */
            off++;
        }

        if (x & 0x30) {                        /* T or K: TID/Y/KEYIDX */
            off++;
        }
    }

    if (off >= len) {
        return -1;
    }

    /* S set and partition index 0: the frame starts here */
    if ((p[0] & 0x17) != 0x10) {
        return 0;
    }

    info->frame_start = 1;

    f = p + off;

    if (f[0] & 0x01) {                         /* P: interframe */
        return 0;
    }

    info->keyframe = 1;

    /* frame tag (3), start code (3), 14-bit width and height, LE */
    if (len - off < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a) {
        return -1;
    }

    return ngx_webrtc_set_size(info, ((f[7] << 8) | f[6]) & 0x3fff,
                               ((f[9] << 8) | f[8]) & 0x3fff);
}


/* VP9, RFC 9628 */

static int
ngx_webrtc_vp9_inspect(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    size_t    off;
    unsigned  sid;

    if (ngx_webrtc_vp9_descriptor(p, len, &off, &sid, info) != 0) {
        return -1;
    }

    if (!(p[0] & 0x08)) {                      /* B: start of a frame */
        return 0;
    }

    info->frame_start = 1;

    if ((p[0] & 0x40) || sid != 0) {
        return 0;
    }

    info->keyframe = 1;

    if (!info->has_size) {
        (void) ngx_webrtc_vp9_frame_size(p + off, len - off, info);
    }

    return 0;
}


int
ngx_webrtc_vp9_descriptor(u_char *p, size_t len, size_t *size,
    unsigned *sid, ngx_webrtc_frame_info_t *info)
{
    size_t    off;
    unsigned  d, ns, ng, i;
    uint32_t  width, height;

    if (len == 0) {
        return -1;
    }

    d = p[0];
    off = 1;
    *sid = 0;

    if (d & 0x80) {                            /* I: picture id */
        if (off >= len) {
            return -1;
        }

        off += (p[off] & 0x80) ? 2 : 1;
    }

    if (d & 0x20) {                            /* L: layer indices */
        if (off >= len) {
            return -1;
        }

        *sid = (p[off] >> 1) & 0x07;
        off++;

        if (!(d & 0x10)) {                     /* TL0PICIDX unless flexible */
            off++;
        }
    }

    if ((d & 0x50) == 0x50) {                  /* P and F: up to 3 P_DIFF */
        for (i = 0; /* void */; i++) {
            if (off >= len) {
                return -1;
            }

            if (!(p[off++] & 0x01)) {
                break;
            }

            if (i == 2) {
                return -1;
            }
        }
    }

    if (d & 0x02) {                            /* V: scalability structure */
        if (off >= len) {
            return -1;
        }

        ns = (p[off] >> 5) + 1;
        i = p[off];
        off++;

        if (i & 0x10) {                        /* Y: layer sizes */
            if (len - off < ns * 4) {
                return -1;
            }

            /* the last layer is the largest */
            off += (ns - 1) * 4;
            width = ngx_webrtc_be16(p + off);
            height = ngx_webrtc_be16(p + off + 2);
            off += 4;

            (void) ngx_webrtc_set_size(info, width, height);
        }

        if (i & 0x08) {                        /* G: picture group */
            if (off >= len) {
                return -1;
            }

            ng = p[off++];

            for (i = 0; i < ng; i++) {
                if (off >= len) {
                    return -1;
                }

                off += 1 + ((p[off] >> 2) & 0x03);
            }
        }
    }

    if (off >= len) {
        return -1;
    }

    *size = off;

    return 0;
}


static int
ngx_webrtc_vp9_frame_size(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    ngx_webrtc_codec_config_t  cf;

    if (ngx_webrtc_vp9_header(p, len, &cf) != 0) {
        return -1;
    }

    return ngx_webrtc_set_size(info, cf.width, cf.height);
}


/* uncompressed_header() of a VP9 key frame, up to frame_size() */

static int
ngx_webrtc_vp9_header(u_char *p, size_t len, ngx_webrtc_codec_config_t *cf)
{
    uint32_t           profile, cs, width, height;
    ngx_webrtc_bits_t  b;

    /* VP9 color_space to ISO/IEC 23091-2 MatrixCoefficients */
    static unsigned    matrix[] = { 2, 5, 1, 6, 7, 9, 2, 0 };

    ngx_webrtc_bits_init(&b, p, len, 0);

    if (ngx_webrtc_bits_read(&b, 2) != 2) {    /* frame_marker */
        return -1;
    }

    profile = ngx_webrtc_bits_read(&b, 1);
    profile |= ngx_webrtc_bits_read(&b, 1) << 1;

    if (profile == 3) {
        ngx_webrtc_bits_skip(&b, 1);
    }

    if (ngx_webrtc_bits_read(&b, 1)            /* show_existing_frame */
        || ngx_webrtc_bits_read(&b, 1))        /* frame_type: not a key */
    {
        return -1;
    }

    ngx_webrtc_bits_skip(&b, 2);               /* show_frame, error_res */

    if (ngx_webrtc_bits_read(&b, 24) != 0x498342) {
        return -1;
    }

    /* color_config() */

    cf->profile = profile;
    cf->bit_depth = 8;

    if (profile >= 2) {
        cf->bit_depth = ngx_webrtc_bits_read(&b, 1) ? 12 : 10;
    }

    cf->chroma_bit_depth = cf->bit_depth;

    cs = ngx_webrtc_bits_read(&b, 3);
    cf->matrix = matrix[cs];
    cf->colour_primaries = (cs == 2) ? 1 : 2;
    cf->transfer = (cs == 2) ? 1 : 2;
    cf->subsampling_x = 1;
    cf->subsampling_y = 1;

    if (cs != 7) {                             /* not CS_RGB */
        cf->full_range = ngx_webrtc_bits_read(&b, 1);

        if (profile & 1) {
            cf->subsampling_x = ngx_webrtc_bits_read(&b, 1);
            cf->subsampling_y = ngx_webrtc_bits_read(&b, 1);
            ngx_webrtc_bits_skip(&b, 1);
        }

    } else {
        cf->full_range = 1;
        cf->subsampling_x = 0;
        cf->subsampling_y = 0;

        if (profile & 1) {
            ngx_webrtc_bits_skip(&b, 1);
        }
    }

    cf->chroma_format = !cf->subsampling_x ? 3 : (cf->subsampling_y ? 1 : 2);

    width = ngx_webrtc_bits_read(&b, 16);
    height = ngx_webrtc_bits_read(&b, 16);

    if (b.error) {
        return -1;
    }

    cf->width = width + 1;
    cf->height = height + 1;

    return 0;
}
