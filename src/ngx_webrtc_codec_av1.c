
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * AV1 payloads ("RTP Payload Format For AV1", AOM): OBU elements, the
 * keyframe (N bit, a new coded video sequence), and the sequence header's
 * picture size and what av1C records (AV1 5.5).
 *
 * A picture of the house shows an arrow from here up to
 * ngx_webrtc_codec.c: it is the include of ngx_webrtc_codec.h for the
 * codec types (frame info, decoder configuration), which that file's
 * dispatch shares; nothing here calls into ngx_webrtc_codec.c.
 */


#include "ngx_webrtc_codec.h"
#include "ngx_webrtc_codec_bits.h"


static int ngx_webrtc_av1_seq_header(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
static void ngx_webrtc_av1_color_config(ngx_webrtc_bits_t *b,
    ngx_webrtc_codec_config_t *cf);
static uint32_t ngx_webrtc_av1_uvlc(ngx_webrtc_bits_t *b);


/* AV1, "RTP Payload Format For AV1" (AOM) */

int
ngx_webrtc_av1_inspect(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    u_char    *last, *obu, *q;
    uint64_t   n, size;
    unsigned   agg, w, count;

    if (len == 0) {
        return -1;
    }

    agg = p[0];
    w = (agg >> 4) & 0x03;
    last = p + len;
    p++;

    if (agg & 0x08) {                          /* N: new coded sequence */
        info->keyframe = 1;
    }

    for (count = 1; p < last; count++) {

        if (w == 0 || count < w) {
            if (ngx_webrtc_av1_leb128(&p, last, &n) != 0
                || n > (uint64_t) (last - p))
            {
                return -1;
            }

        } else {
            n = last - p;
        }

        obu = p;
        p += n;

        if (n == 0 || (count == 1 && (agg & 0x80))) {
            /* empty, or Z: the first OBU continues from the last packet */
            continue;
        }

        if (count == 1) {
            /* a frame starts with any OBU but a tile group, list, padding */
            switch ((obu[0] >> 3) & 0x0f) {
            case 4:
            case 8:
            case 15:
                break;
            default:
                info->frame_start = 1;
            }
        }

        if (((obu[0] >> 3) & 0x0f) != 1 || info->has_size) {
            continue;
        }

        /*
         * OBU_SEQUENCE_HEADER: encoders send it with key frames only,
         * so it marks a key frame even if a packetizer forgets N
         */

        info->keyframe = 1;

        q = obu + 1 + ((obu[0] >> 2) & 1);     /* extension header */

        if (q > p) {
            continue;
        }

        size = p - q;

        if (obu[0] & 0x02) {                   /* obu_has_size_field */
            if (ngx_webrtc_av1_leb128(&q, p, &size) != 0) {
                continue;
            }

            if (size > (uint64_t) (p - q)) {
                size = p - q;
            }
        }

        (void) ngx_webrtc_av1_seq_header(q, size, info);
    }

    return 0;
}


int
ngx_webrtc_av1_leb128(u_char **pp, u_char *last, uint64_t *value)
{
    u_char    *p;
    uint64_t   v;
    unsigned   i;

    p = *pp;
    v = 0;

    for (i = 0; i < 8; i++) {
        if (p >= last) {
            return -1;
        }

        v |= (uint64_t) (*p & 0x7f) << (i * 7);

        if (!(*p++ & 0x80)) {
            *pp = p;
            *value = v;
            return 0;
        }
    }

    return -1;
}


static int
ngx_webrtc_av1_seq_header(u_char *p, size_t len, ngx_webrtc_frame_info_t *info)
{
    ngx_webrtc_codec_config_t  cf;

    if (ngx_webrtc_av1_seq_parse(p, len, &cf) < 0) {
        return -1;
    }

    return ngx_webrtc_set_size(info, cf.width, cf.height);
}


/*
 * sequence_header_obu(), AV1 5.5, up to color_config(); 1 if only the
 * size could be read
 */

int
ngx_webrtc_av1_seq_parse(u_char *p, size_t len, ngx_webrtc_codec_config_t *cf)
{
    uint32_t           decoder_model, delay_len, display_delay, n, i;
    uint32_t           wbits, hbits, width, height, level, order_hint;
    ngx_webrtc_bits_t  b;

    ngx_webrtc_bits_init(&b, p, len, 0);

    cf->profile = ngx_webrtc_bits_read(&b, 3); /* seq_profile */
    ngx_webrtc_bits_skip(&b, 1);               /* still_picture */
    cf->reduced_still_picture = ngx_webrtc_bits_read(&b, 1);

    if (cf->reduced_still_picture) {
        cf->level = ngx_webrtc_bits_read(&b, 5);

    } else {
        decoder_model = 0;
        delay_len = 0;

        if (ngx_webrtc_bits_read(&b, 1)) {     /* timing_info_present_flag */
            ngx_webrtc_bits_skip(&b, 64);

            if (ngx_webrtc_bits_read(&b, 1)) { /* equal_picture_interval */
                (void) ngx_webrtc_av1_uvlc(&b);
            }

            decoder_model = ngx_webrtc_bits_read(&b, 1);

            if (decoder_model) {
                delay_len = ngx_webrtc_bits_read(&b, 5) + 1;
                ngx_webrtc_bits_skip(&b, 32 + 5 + 5);
            }
        }

        display_delay = ngx_webrtc_bits_read(&b, 1);
        n = ngx_webrtc_bits_read(&b, 5) + 1;   /* operating points */

        for (i = 0; i < n && !b.error; i++) {
            ngx_webrtc_bits_skip(&b, 12);      /* operating_point_idc */

            level = ngx_webrtc_bits_read(&b, 5);

            if (i == 0) {
                cf->level = level;
            }

            if (level > 7 && ngx_webrtc_bits_read(&b, 1) && i == 0) {
                cf->tier = 1;                  /* seq_tier */
            }

            if (decoder_model && ngx_webrtc_bits_read(&b, 1)) {
                ngx_webrtc_bits_skip(&b, 2 * delay_len + 1);
            }

            if (display_delay && ngx_webrtc_bits_read(&b, 1)) {
                ngx_webrtc_bits_skip(&b, 4);
            }
        }
    }

    wbits = ngx_webrtc_bits_read(&b, 4) + 1;
    hbits = ngx_webrtc_bits_read(&b, 4) + 1;
    width = ngx_webrtc_bits_read(&b, wbits);
    height = ngx_webrtc_bits_read(&b, hbits);

    if (b.error || width >= NGX_WEBRTC_MAX_DIMENSION
        || height >= NGX_WEBRTC_MAX_DIMENSION)
    {
        return -1;
    }

    cf->width = width + 1;
    cf->height = height + 1;

    if (!cf->reduced_still_picture) {
        if (ngx_webrtc_bits_read(&b, 1)) {     /* frame_id_numbers_present */
            ngx_webrtc_bits_skip(&b, 4 + 3);
        }
    }

    /* use_128x128_superblock, enable_filter_intra, _intra_edge_filter */
    ngx_webrtc_bits_skip(&b, 3);

    if (!cf->reduced_still_picture) {
        /* interintra_compound, masked_compound, warped_motion, dual_filter */
        ngx_webrtc_bits_skip(&b, 4);

        order_hint = ngx_webrtc_bits_read(&b, 1);

        if (order_hint) {
            ngx_webrtc_bits_skip(&b, 2);       /* jnt_comp, ref_frame_mvs */
        }

        /* seq_choose_screen_content_tools, else seq_force_...: 0 or 1 */
        if (ngx_webrtc_bits_read(&b, 1) || ngx_webrtc_bits_read(&b, 1)) {
            ngx_webrtc_bits_skip(&b, ngx_webrtc_bits_read(&b, 1) ? 0 : 1);
        }

        if (order_hint) {
            ngx_webrtc_bits_skip(&b, 3);       /* order_hint_bits_minus_1 */
        }
    }

    /* enable_superres, enable_cdef, enable_restoration */
    ngx_webrtc_bits_skip(&b, 3);

    ngx_webrtc_av1_color_config(&b, cf);

    return b.error ? 1 : 0;
}


/* color_config(), AV1 5.5.2 */

static void
ngx_webrtc_av1_color_config(ngx_webrtc_bits_t *b,
    ngx_webrtc_codec_config_t *cf)
{
    cf->bit_depth = ngx_webrtc_bits_read(b, 1) ? 10 : 8;

    if (cf->profile == 2 && cf->bit_depth == 10
        && ngx_webrtc_bits_read(b, 1))
    {
        cf->bit_depth = 12;                    /* twelve_bit */
    }

    cf->chroma_bit_depth = cf->bit_depth;

    if (cf->profile != 1) {
        cf->monochrome = ngx_webrtc_bits_read(b, 1);
    }

    cf->colour_primaries = 2;                  /* unspecified */
    cf->transfer = 2;
    cf->matrix = 2;

    if (ngx_webrtc_bits_read(b, 1)) {          /* color_description_present */
        cf->colour_primaries = ngx_webrtc_bits_read(b, 8);
        cf->transfer = ngx_webrtc_bits_read(b, 8);
        cf->matrix = ngx_webrtc_bits_read(b, 8);
    }

    cf->subsampling_x = 1;
    cf->subsampling_y = 1;
    cf->chroma_format = 1;

    if (cf->monochrome) {
        cf->full_range = ngx_webrtc_bits_read(b, 1);
        cf->chroma_format = 0;
        return;
    }

    /* BT.709 primaries, sRGB transfer, identity matrix: 4:4:4 */

    if (cf->colour_primaries == 1 && cf->transfer == 13 && cf->matrix == 0) {
        cf->full_range = 1;
        cf->subsampling_x = 0;
        cf->subsampling_y = 0;

    } else {
        cf->full_range = ngx_webrtc_bits_read(b, 1);

        if (cf->profile == 1) {
            cf->subsampling_x = 0;
            cf->subsampling_y = 0;

        } else if (cf->profile == 2) {
            if (cf->bit_depth == 12) {
                cf->subsampling_x = ngx_webrtc_bits_read(b, 1);
                cf->subsampling_y = cf->subsampling_x
                                    ? ngx_webrtc_bits_read(b, 1) : 0;

            } else {
                cf->subsampling_y = 0;
            }
        }

        if (cf->subsampling_x && cf->subsampling_y) {
            cf->chroma_sample_position = ngx_webrtc_bits_read(b, 2);
        }
    }

    cf->chroma_format = !cf->subsampling_x ? 3 : (cf->subsampling_y ? 1 : 2);
}


static uint32_t
ngx_webrtc_av1_uvlc(ngx_webrtc_bits_t *b)
{
    unsigned  lz;

    lz = 0;

    while (ngx_webrtc_bits_read(b, 1) == 0) {
        if (b->error || ++lz > 32) {
            b->error = 1;
            return 0;
        }
    }

    if (lz >= 32) {
        return UINT32_MAX;
    }

    return ngx_webrtc_bits_read(b, lz) + ((1u << lz) - 1);
}
