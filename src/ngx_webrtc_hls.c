
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_hls.h"
#include "ngx_webrtc_depack.h"
#include "ngx_webrtc_fmp4.h"
#include "ngx_webrtc_record.h"


/*
 * The packager of a stream published in this worker: a reader of the
 * stream's ring.  Frames are put together from the RTP payloads; a video
 * frame is held until the next one gives its duration, then the part is
 * cut when the next frame would take it over webrtc_hls_part, and the
 * segment at the first keyframe after webrtc_hls_fragment.  Each part is
 * one CMAF fragment (moof + mdat) with a run per track; a segment is its
 * parts one after another.  Audio waits for the first video keyframe.
 *
 * One timeline for both tracks: each track's RTP time, unwrapped, from
 * where it stood when the track's first frame arrived (arrival time).  A
 * new publisher's packager continues the store: the media sequence goes
 * on, its first segment has a discontinuity and a new init segment.
 */


#define NGX_WEBRTC_HLS_SAMPLES       256
#define NGX_WEBRTC_HLS_FRAME_MAX     (1024 * 1024)
#define NGX_WEBRTC_HLS_AUDIO_MAX     (64 * 1024)
#define NGX_WEBRTC_HLS_TICK          1000   /* ms: is the publisher here */
#define NGX_WEBRTC_HLS_READ_MAX      512    /* slots per read */
#define NGX_WEBRTC_HLS_SEGMENT_MAX   30000  /* ms without a keyframe */


typedef struct {
    ngx_webrtc_depack_t         dp;
    ngx_uint_t                  present;
    ngx_webrtc_codec_e          codec;
    uint32_t                    timescale;

    uint64_t                    next_seq;     /* in the stream's numbering */
    uint32_t                    last_ts;
    int64_t                     ext_ts;       /* unwrapped */
    int64_t                     origin;       /* ext_ts - decode time */
    unsigned                    timed:1;
    unsigned                    placed:1;     /* origin is set */

    /* the part being built */
    ngx_webrtc_fmp4_sample_t    samples[NGX_WEBRTC_HLS_SAMPLES];
    ngx_uint_t                  nsamples;
    u_char                     *data;
    size_t                      len;
    size_t                      size;
    int64_t                     base;         /* decode time of samples[0] */
    int64_t                     next;         /* of the next sample */
} ngx_webrtc_hls_track_t;


typedef struct {
    ngx_queue_t                 queue;
    ngx_webrtc_reader_t         reader;
    ngx_webrtc_stream_t        *st;
    ngx_webrtc_hls_t           *hls;          /* NULL: recorded only */
    ngx_webrtc_record_t        *rec;          /* NULL: not recorded */
    uint64_t                    cursor;
    u_char                      pub_id[NGX_WEBRTC_ID_LEN];
    uint32_t                    gen;          /* hls->gen while ours */

    ngx_webrtc_hls_track_t      tracks[NGX_WEBRTC_MEDIA_TRACKS];

    uint32_t                    init;         /* current init's id */
    uint32_t                    fragments;    /* written: their mfhd */
    int64_t                     zero_us;      /* timeline start, store's */
    ngx_msec_t                  zero_msec;    /* ... and arrival time */
    int64_t                     pdt_zero;     /* wall clock at zero, ms */
    int64_t                     part_start;   /* us */
    int64_t                     seg_start;    /* us */
    ngx_uint_t                  part_in_seg;
    unsigned                    started:1;    /* first keyframe seen */
    unsigned                    need_key:1;
    unsigned                    discontinuity:1;
    unsigned                    done:1;
    unsigned                    aligned:1;    /* by sender reports */

    u_char                     *out;
    size_t                      out_size;

    ngx_event_t                 tick;
    ngx_msec_t                  linger_until;
} ngx_webrtc_hls_packager_t;


static void ngx_webrtc_hls_publish(ngx_webrtc_stream_t *st,
    ngx_str_t *record);
static void ngx_webrtc_hls_read(ngx_webrtc_reader_t *rd, ngx_uint_t event);
static void ngx_webrtc_hls_slot(ngx_webrtc_hls_packager_t *pk,
    ngx_webrtc_slot_t *slot);
static void ngx_webrtc_hls_frame(ngx_webrtc_hls_packager_t *pk,
    ngx_webrtc_hls_track_t *tk, ngx_uint_t k);
static ngx_int_t ngx_webrtc_hls_start(ngx_webrtc_hls_packager_t *pk,
    ngx_webrtc_hls_track_t *video, int64_t t);
static void ngx_webrtc_hls_align(ngx_webrtc_hls_packager_t *pk,
    ngx_uint_t v, int64_t t, uint32_t ts);
static void ngx_webrtc_hls_cut(ngx_webrtc_hls_packager_t *pk,
    int64_t end_us, ngx_uint_t new_segment);
static void ngx_webrtc_hls_segment_locked(ngx_webrtc_hls_packager_t *pk,
    ngx_webrtc_hls_t *hls);
static ngx_int_t ngx_webrtc_hls_sample(ngx_webrtc_hls_track_t *tk,
    int64_t t, ngx_uint_t sync);
static uint32_t ngx_webrtc_hls_opus_duration(u_char *p, size_t len);
static void ngx_webrtc_hls_tick(ngx_event_t *ev);
static void ngx_webrtc_hls_stop(ngx_webrtc_hls_packager_t *pk);


static ngx_queue_t  ngx_webrtc_hls_packagers;


#define ngx_webrtc_hls_ours(pk)                                              \
    ((pk)->hls == NULL || (pk)->hls->gen == (pk)->gen)


void
ngx_webrtc_hls_init(void)
{
    ngx_queue_init(&ngx_webrtc_hls_packagers);

    ngx_webrtc_stream_on_publish(ngx_webrtc_hls_publish);
}


ngx_int_t
ngx_webrtc_hls_copy(ngx_webrtc_hls_t *hls, uint64_t pos, size_t len,
    u_char *buf)
{
    size_t  off, n;

    if (pos + hls->size < hls->reserved || pos + len > hls->written) {
        return NGX_DECLINED;
    }

    off = pos % hls->size;
    n = ngx_min(len, hls->size - off);

    ngx_memcpy(buf, hls->data + off, n);
    ngx_memcpy(buf + n, hls->data, len - n);

    ngx_memory_barrier();

    /* a writer that reached what was copied spoilt it */

    if (pos + hls->size < hls->reserved) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* a publisher took a stream in this worker: package it */

static void
ngx_webrtc_hls_publish(ngx_webrtc_stream_t *st, ngx_str_t *record)
{
    ngx_str_t                   name;
    ngx_uint_t                  k, video;
    ngx_slab_pool_t            *shpool;
    ngx_webrtc_conf_t          *conf;
    ngx_webrtc_hls_t           *hls;
    ngx_webrtc_hls_track_t     *tk;
    ngx_webrtc_stream_track_t  *sk;
    ngx_webrtc_hls_packager_t  *pk;

    conf = ngx_webrtc_worker->conf;
    shpool = ngx_webrtc_worker->shm->shpool;

    if (!conf->hls && record->len == 0) {
        return;
    }

    name.data = st->name;
    name.len = st->name_len;

    /* a reference of its own: the store outlives the publisher a while */

    if (ngx_webrtc_stream_acquire(&name, 0) != st) {
        return;
    }

    pk = ngx_calloc(sizeof(ngx_webrtc_hls_packager_t), ngx_webrtc_worker->log);
    if (pk == NULL) {
        goto failed;
    }

    pk->st = st;
    ngx_memcpy(pk->pub_id, st->pub_id, NGX_WEBRTC_ID_LEN);

    video = 0;

    for (k = 0; k < NGX_WEBRTC_MEDIA_TRACKS; k++) {
        sk = &st->tracks[k];
        tk = &pk->tracks[k];

        if (sk->kind == 0) {
            continue;
        }

        if (sk->kind == NGX_WEBRTC_MEDIA_VIDEO) {
            if (sk->codec != NGX_WEBRTC_CODEC_H264
                && sk->codec != NGX_WEBRTC_CODEC_H265
                && sk->codec != NGX_WEBRTC_CODEC_AV1
                && sk->codec != NGX_WEBRTC_CODEC_VP9)
            {
                video = NGX_WEBRTC_HLS_CODEC;
                continue;
            }

            tk->timescale = 90000;
            tk->size = NGX_WEBRTC_HLS_FRAME_MAX * 2;
            tk->dp.size = NGX_WEBRTC_HLS_FRAME_MAX;

        } else {
            if (sk->codec != NGX_WEBRTC_CODEC_OPUS) {
                continue;
            }

            tk->timescale = 48000;
            tk->size = NGX_WEBRTC_HLS_AUDIO_MAX;
            tk->dp.size = 4096;
        }

        tk->present = 1;
        tk->codec = sk->codec;
        tk->dp.codec = sk->codec;

        tk->data = ngx_alloc(tk->size, ngx_webrtc_worker->log);
        tk->dp.buf = ngx_alloc(tk->dp.size, ngx_webrtc_worker->log);

        if (tk->data == NULL || tk->dp.buf == NULL) {
            goto failed;
        }
    }

    pk->out_size = NGX_WEBRTC_HLS_FRAME_MAX * 2 + NGX_WEBRTC_HLS_AUDIO_MAX
                   + 16384;
    pk->out = ngx_alloc(pk->out_size, ngx_webrtc_worker->log);
    if (pk->out == NULL) {
        goto failed;
    }

    if (!conf->hls) {
        goto store_done;
    }

    ngx_shmtx_lock(&shpool->mutex);

    hls = st->hls;

    if (hls == NULL) {
        hls = ngx_slab_alloc_locked(shpool, offsetof(ngx_webrtc_hls_t, data)
                                            + conf->hls_size);
        if (hls == NULL) {
            ngx_shmtx_unlock(&shpool->mutex);
            ngx_log_error(NGX_LOG_ERR, ngx_webrtc_worker->log, 0,
                          "webrtc: no shared memory for HLS of \"%V\", "
                          "increase \"webrtc_zone_size\"", &name);
            goto failed;
        }

        ngx_memzero(hls, offsetof(ngx_webrtc_hls_t, data));
        hls->size = conf->hls_size;
        hls->epoch = (uint32_t) ngx_random();
        hls->target = (uint32_t) ((conf->hls_fragment + 999) / 1000);
        st->hls = hls;

    } else if (hls->nsegments) {
        pk->discontinuity = 1;
    }

    hls->refused = video;
    hls->writer = ngx_pid;
    hls->ended = 0;
    pk->gen = ++hls->gen;

    /* the store's timeline goes on where its last part ended */
    pk->zero_us = hls->end_us;

    ngx_shmtx_unlock(&shpool->mutex);

    pk->hls = hls;

store_done:

    if (video) {
        /* VP8 and others: WebRTC playback only; HTTP says why */
        ngx_log_error(NGX_LOG_INFO, ngx_webrtc_worker->log, 0,
                      "webrtc: stream \"%V\" is neither packaged nor "
                      "recorded: its video codec cannot be carried in MP4",
                      &name);
        goto failed;
    }

    if (record->len) {
        pk->rec = ngx_webrtc_record_open(record, &name,
                                         ngx_webrtc_worker->log);
    }

    pk->reader.st = st;
    pk->reader.handler = ngx_webrtc_hls_read;
    pk->reader.data = pk;
    pk->cursor = st->ring.write_idx;

    if (ngx_webrtc_stream_reader_add(&pk->reader) != NGX_OK) {
        goto failed;
    }

    pk->tick.handler = ngx_webrtc_hls_tick;
    pk->tick.data = pk;
    pk->tick.log = ngx_webrtc_worker->log;
    pk->tick.cancelable = 1;
    ngx_add_timer(&pk->tick, NGX_WEBRTC_HLS_TICK);

    ngx_queue_insert_tail(&ngx_webrtc_hls_packagers, &pk->queue);

    return;

failed:

    if (pk) {
        for (k = 0; k < NGX_WEBRTC_MEDIA_TRACKS; k++) {
            if (pk->tracks[k].data) {
                ngx_free(pk->tracks[k].data);
            }

            if (pk->tracks[k].dp.buf) {
                ngx_free(pk->tracks[k].dp.buf);
            }
        }

        if (pk->out) {
            ngx_free(pk->out);
        }

        ngx_free(pk);
    }

    ngx_webrtc_stream_release(st);
}


void
ngx_webrtc_hls_exit(void)
{
    ngx_queue_t                *q;
    ngx_webrtc_hls_packager_t  *pk;

    while (!ngx_queue_empty(&ngx_webrtc_hls_packagers)) {
        q = ngx_queue_head(&ngx_webrtc_hls_packagers);
        pk = ngx_queue_data(q, ngx_webrtc_hls_packager_t, queue);

        ngx_webrtc_hls_stop(pk);
        pk->linger_until = ngx_current_msec;
        ngx_webrtc_hls_tick(&pk->tick);
    }
}


static void
ngx_webrtc_hls_read(ngx_webrtc_reader_t *rd, ngx_uint_t event)
{
    uint64_t                    end;
    ngx_uint_t                  n;
    ngx_webrtc_slot_t           slot;
    ngx_webrtc_stream_t        *st;
    ngx_webrtc_hls_packager_t  *pk;

    pk = rd->data;
    st = pk->st;

    if (event == NGX_WEBRTC_READ_SHUTDOWN) {
        /*
         * the worker is leaving, but its sessions stay until they end
         * (a reload): packaging goes on while the publisher does
         */
        return;
    }

    if (!ngx_webrtc_hls_ours(pk)
        || st->pub_pid != ngx_pid
        || ngx_memcmp(st->pub_id, pk->pub_id, NGX_WEBRTC_ID_LEN) != 0)
    {
        ngx_webrtc_hls_stop(pk);
        return;
    }

    end = st->ring.write_idx;
    ngx_memory_barrier();

    if (end - pk->cursor > NGX_WEBRTC_RING_SLOTS) {
        pk->cursor = end - NGX_WEBRTC_RING_SLOTS / 2;
        pk->need_key = 1;
    }

    for (n = 0; pk->cursor < end && n < NGX_WEBRTC_HLS_READ_MAX; n++) {
        if (ngx_webrtc_ring_read(&st->ring, pk->cursor, &slot) == NGX_OK) {
            ngx_webrtc_hls_slot(pk, &slot);
        }

        pk->cursor++;
    }
}


static void
ngx_webrtc_hls_slot(ngx_webrtc_hls_packager_t *pk, ngx_webrtc_slot_t *slot)
{
    int                      rc;
    ngx_webrtc_hls_track_t  *tk;

    if (slot->track >= NGX_WEBRTC_MEDIA_TRACKS) {
        return;
    }

    tk = &pk->tracks[slot->track];

    if (!tk->present) {
        return;
    }

    if (tk->timed && slot->seq < tk->next_seq) {
        /* late: its frame is gone */
        return;
    }

    if (tk->dp.started && slot->ts != tk->dp.ts) {
        rc = ngx_webrtc_depack_end(&tk->dp);

        if (rc == NGX_WEBRTC_DEPACK_FRAME) {
            ngx_webrtc_hls_frame(pk, tk, slot->track);

        } else if (rc == NGX_WEBRTC_DEPACK_DROPPED) {
            pk->need_key = 1;
        }
    }

    if (!tk->timed) {
        tk->ext_ts = slot->ts;
        tk->timed = 1;

    } else {
        tk->ext_ts += (int32_t) (slot->ts - tk->last_ts);
    }

    tk->last_ts = slot->ts;
    tk->next_seq = slot->seq + 1;

    rc = ngx_webrtc_depack_add(&tk->dp, slot->seq, slot->ts, slot->marker,
                               slot->data, slot->len);

    if (rc == NGX_WEBRTC_DEPACK_FRAME) {
        ngx_webrtc_hls_frame(pk, tk, slot->track);

    } else if (rc == NGX_WEBRTC_DEPACK_DROPPED) {
        pk->need_key = 1;
    }
}


#define ngx_webrtc_hls_us(t, scale)  ((t) * 1000000 / (int64_t) (scale))


static void
ngx_webrtc_hls_frame(ngx_webrtc_hls_packager_t *pk, ngx_webrtc_hls_track_t *tk,
    ngx_uint_t k)
{
    int64_t                  ext, t, d, now_us, seg_us;
    ngx_uint_t               segment, cut, key;
    ngx_webrtc_conf_t       *conf;
    ngx_webrtc_hls_track_t  *video;

    conf = ngx_webrtc_worker->conf;

    ext = tk->ext_ts + (int32_t) (tk->dp.ts - tk->last_ts);

    if (tk->timescale == 90000) {
        key = tk->dp.keyframe;

        if (!pk->started) {
            /*
             * a keyframe with its configuration: the start fails while
             * ngx_webrtc_depack_config() has no record (H.264 without its
             * SPS and PPS, AV1 without a sequence header); VP9 and AV1
             * have no PPS
             */

            if (!key || ngx_webrtc_hls_start(pk, tk, ext) != NGX_OK) {
                return;
            }

        } else if (pk->need_key) {
            if (!key) {
                return;
            }

            pk->need_key = 0;
        }

        t = ext - tk->origin;

        if (tk->nsamples) {
            d = t - tk->next;

            if (d <= 0 || d > 90000 * 10) {
                /* timestamps that go back or leap: one frame's worth */
                d = 3000;
                t = tk->next + d;
                tk->origin = ext - t;
            }

            tk->samples[tk->nsamples - 1].duration = (uint32_t) d;

            now_us = ngx_webrtc_hls_us(t, 90000);
            seg_us = now_us - pk->seg_start;

            /* a keyframe a little early (a jittery GOP) still cuts */

            segment = key
                      && seg_us >= (int64_t) conf->hls_fragment * 1000 * 3 / 4;

            if (!key && seg_us >= (int64_t) conf->hls_fragment * 1500) {
                /*
                 * a long GOP: ask the publisher for a keyframe (at most
                 * once a second), and past NGX_WEBRTC_HLS_SEGMENT_MAX cut
                 * anyway, so that a publisher without keyframes cannot
                 * grow a segment out of the store
                 */

                ngx_webrtc_stream_keyframe_request(pk->st);

                segment = (seg_us >= NGX_WEBRTC_HLS_SEGMENT_MAX * 1000);
            }

            if (key && tk->dp.config_changed
                && ngx_webrtc_hls_start(pk, tk, ext) == NGX_OK)
            {
                /* new parameter sets: a new init segment from here */
                segment = 1;
                pk->discontinuity = 1;
            }

            /* the next frame may come a little later than this one did */

            cut = segment
                  || now_us - pk->part_start
                     + ngx_webrtc_hls_us(d + d / 2, 90000)
                     > (int64_t) conf->hls_part * 1000;

            if (cut) {
                ngx_webrtc_hls_cut(pk, now_us, segment);
            }

            if (segment && !pk->aligned) {
                ngx_webrtc_hls_align(pk, k, t, tk->dp.ts);
            }
        }

        if (ngx_webrtc_hls_sample(tk, t, key) != NGX_OK) {
            pk->need_key = 1;
        }

        tk->dp.config_changed = 0;

        return;
    }

    /* audio */

    video = NULL;

    for (k = 0; k < NGX_WEBRTC_MEDIA_TRACKS; k++) {
        if (pk->tracks[k].present && pk->tracks[k].timescale == 90000) {
            video = &pk->tracks[k];
        }
    }

    if (!pk->started
        && (video || ngx_webrtc_hls_start(pk, NULL, 0) != NGX_OK))
    {
        return;
    }

    d = ngx_webrtc_hls_opus_duration(tk->dp.buf, tk->dp.len);
    if (d == 0) {
        return;
    }

    if (!tk->placed) {
        /* the first frame: where it stands on the timeline by arrival */
        tk->origin = ext - (int64_t) (ngx_current_msec - pk->zero_msec) * 48
                     - pk->zero_us * 48000 / 1000000;
        tk->placed = 1;
    }

    t = ext - tk->origin;

    if (tk->nsamples && t > tk->next + d / 2) {
        /* a gap (lost packets, silence): the last sample fills it */
        tk->samples[tk->nsamples - 1].duration += (uint32_t) (t - tk->next);
        tk->next = t;
    }

    if (tk->nsamples) {
        t = tk->next;
    }

    if (ngx_webrtc_hls_sample(tk, t, 1) != NGX_OK) {
        return;
    }

    tk->samples[tk->nsamples - 1].duration = (uint32_t) d;
    tk->next = t + d;

    if (video == NULL) {
        now_us = ngx_webrtc_hls_us(tk->next, 48000);

        if (now_us - pk->part_start >= (int64_t) conf->hls_part * 1000) {
            ngx_webrtc_hls_cut(pk, now_us,
                               now_us - pk->seg_start
                               >= (int64_t) conf->hls_fragment * 1000);
        }
    }
}


/*
 * Audio on the video's timeline by the publisher's sender reports, once
 * both tracks have one, at the start of a segment (the audio part is
 * empty): until then audio stands where its first frame arrived.  The
 * video frame with decode time t has stream RTP time ts.
 */

static int64_t
ngx_webrtc_hls_ntp_us(uint64_t ntp)
{
    return (int64_t) (ntp >> 32) * 1000000
           + (int64_t) (((ntp & 0xffffffff) * 1000000) >> 32);
}


static void
ngx_webrtc_hls_align(ngx_webrtc_hls_packager_t *pk, ngx_uint_t v, int64_t t,
    uint32_t ts)
{
    int64_t                     video_us, audio_us, dt, ext;
    ngx_uint_t                  a;
    ngx_webrtc_hls_track_t     *tk;
    ngx_webrtc_stream_track_t  *sv, *sa;

    a = 1 - v;
    tk = &pk->tracks[a];
    sv = &pk->st->tracks[v];
    sa = &pk->st->tracks[a];

    if (!tk->present || !tk->placed || tk->nsamples
        || sv->sr_ntp == 0 || sa->sr_ntp == 0)
    {
        return;
    }

    /* the wall clock of this video frame, and of the audio report */

    video_us = ngx_webrtc_hls_ntp_us(sv->sr_ntp)
               + (int64_t) (int32_t) (ts - sv->sr_ts) * 1000000 / 90000;
    audio_us = ngx_webrtc_hls_ntp_us(sa->sr_ntp);

    /* the audio report's decode time: the frame's, moved by the clocks */

    dt = t * 48000 / 90000 + (audio_us - video_us) * 48000 / 1000000;

    ext = tk->ext_ts + (int32_t) (sa->sr_ts - tk->last_ts);

    ngx_log_error(NGX_LOG_INFO, ngx_webrtc_worker->log, 0,
                  "webrtc: HLS of \"%*s\": audio moved by %L ms to the "
                  "video's clock by sender reports", pk->st->name_len,
                  pk->st->name, (tk->origin - (ext - dt)) / 48);

    tk->origin = ext - dt;
    pk->aligned = 1;
}


/* appends the frame in the track's depacketizer to the part being built */

static ngx_int_t
ngx_webrtc_hls_sample(ngx_webrtc_hls_track_t *tk, int64_t t, ngx_uint_t sync)
{
    ngx_webrtc_fmp4_sample_t  *smp;

    if (tk->nsamples == NGX_WEBRTC_HLS_SAMPLES
        || tk->len + tk->dp.len > tk->size)
    {
        return NGX_ERROR;
    }

    if (tk->nsamples == 0) {
        tk->base = t;
    }

    smp = &tk->samples[tk->nsamples++];
    smp->size = (uint32_t) tk->dp.len;
    smp->duration = 0;
    smp->cts_offset = 0;
    smp->sync = sync;

    ngx_memcpy(tk->data + tk->len, tk->dp.buf, tk->dp.len);
    tk->len += tk->dp.len;

    if (tk->timescale == 90000) {
        tk->next = t;
    }

    return NGX_OK;
}


/* the first keyframe: the timeline starts, the first init and segment */

static ngx_int_t
ngx_webrtc_hls_start(ngx_webrtc_hls_packager_t *pk,
    ngx_webrtc_hls_track_t *video, int64_t ext)
{
    size_t                    len, n, clen;
    u_char                    avcc[3 * NGX_WEBRTC_DEPACK_PS_MAX + 64];
    u_char                    buf[NGX_WEBRTC_HLS_INIT_MAX];
    u_char                    codecs[NGX_WEBRTC_HLS_CODECS_MAX];
    ngx_uint_t                k;
    ngx_time_t               *tp;
    ngx_slab_pool_t          *shpool;
    ngx_webrtc_hls_t         *hls;
    ngx_webrtc_hls_init_t    *init;
    ngx_webrtc_hls_track_t   *tk;
    ngx_webrtc_fmp4_track_t   tracks[NGX_WEBRTC_MEDIA_TRACKS];

    n = 0;
    clen = 0;

    for (k = 0; k < NGX_WEBRTC_MEDIA_TRACKS; k++) {
        tk = &pk->tracks[k];

        if (!tk->present) {
            continue;
        }

        ngx_memzero(&tracks[n], sizeof(ngx_webrtc_fmp4_track_t));

        tracks[n].id = (uint32_t) (n + 1);
        tracks[n].codec = tk->codec;
        tracks[n].timescale = tk->timescale;

        if (tk == video) {
            len = ngx_webrtc_depack_config(&tk->dp, avcc, sizeof(avcc));
            if (len == 0) {
                return NGX_ERROR;
            }

            tracks[n].config = avcc;
            tracks[n].config_len = len;
            tracks[n].width = tk->dp.width;
            tracks[n].height = tk->dp.height;

        } else {
            tracks[n].channels = pk->st->tracks[k].channels
                                 ? pk->st->tracks[k].channels : 2;
            tracks[n].sample_rate = 48000;
        }

        if (clen) {
            codecs[clen++] = ',';
        }

        clen += ngx_webrtc_fmp4_codecs(codecs + clen,
                                       sizeof(codecs) - clen, &tracks[n]);
        n++;
    }

    len = ngx_webrtc_fmp4_init(buf, sizeof(buf), tracks, n);
    if (len == 0) {
        return NGX_ERROR;
    }

    if (!pk->started) {
        pk->zero_msec = ngx_current_msec;
        tp = ngx_timeofday();
        pk->pdt_zero = (int64_t) tp->sec * 1000 + tp->msec;
        pk->part_start = pk->zero_us;
        pk->seg_start = pk->zero_us;

        if (video) {
            video->origin = ext - pk->zero_us * 90000 / 1000000;
            video->placed = 1;
        }
    }

    if (pk->rec && !pk->started
        && ngx_webrtc_record_write(pk->rec, buf, len) != NGX_OK)
    {
        ngx_webrtc_record_close(pk->rec, 0);
        pk->rec = NULL;
    }

    shpool = ngx_webrtc_worker->shm->shpool;
    hls = pk->hls;

    if (hls == NULL) {
        pk->started = 1;
        return NGX_OK;
    }

    ngx_shmtx_lock(&shpool->mutex);

    if (hls->gen != pk->gen) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ERROR;
    }

    init = &hls->inits[hls->ninits & (NGX_WEBRTC_HLS_INITS - 1)];
    init->id = hls->ninits;
    init->len = (uint32_t) len;
    ngx_memcpy(init->data, buf, len);
    init->codecs_len = clen;
    ngx_memcpy(init->codecs, codecs, clen);
    init->width = video ? video->dp.width : 0;
    init->height = video ? video->dp.height : 0;

    pk->init = hls->ninits++;

    if (!pk->started) {
        ngx_webrtc_hls_segment_locked(pk, hls);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    pk->started = 1;

    return NGX_OK;
}


/* the part built so far becomes a CMAF fragment in the store */

static void
ngx_webrtc_hls_cut(ngx_webrtc_hls_packager_t *pk, int64_t end_us,
    ngx_uint_t new_segment)
{
    size_t                     len, n, off, m;
    uint64_t                   pos;
    ngx_uint_t                 k, independent;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_hls_t          *hls;
    ngx_webrtc_hls_part_t     *part;
    ngx_webrtc_hls_track_t    *tk;
    ngx_webrtc_hls_segment_t  *seg;
    ngx_webrtc_fmp4_run_t      runs[NGX_WEBRTC_MEDIA_TRACKS];

    n = 0;
    independent = 1;

    for (k = 0; k < NGX_WEBRTC_MEDIA_TRACKS; k++) {
        tk = &pk->tracks[k];

        if (!tk->present || tk->nsamples == 0) {
            continue;
        }

        if (tk->timescale == 90000) {
            independent = tk->samples[0].sync;
        }

        runs[n].id = (uint32_t) (k + 1);
        runs[n].base_time = (uint64_t) tk->base;
        runs[n].samples = tk->samples;
        runs[n].nsamples = tk->nsamples;
        runs[n].data = tk->data;
        runs[n].len = tk->len;
        n++;
    }

    hls = pk->hls;

    len = 0;

    if (n) {
        len = ngx_webrtc_fmp4_fragment(pk->out, pk->out_size,
                                       (uint32_t) ++pk->fragments, runs, n);
    }

    for (k = 0; k < NGX_WEBRTC_MEDIA_TRACKS; k++) {
        pk->tracks[k].nsamples = 0;
        pk->tracks[k].len = 0;
    }

    if (len && pk->rec
        && ngx_webrtc_record_write(pk->rec, pk->out, len) != NGX_OK)
    {
        ngx_webrtc_record_close(pk->rec, end_us - pk->zero_us);
        pk->rec = NULL;
    }

    if (hls == NULL) {
        pk->part_start = end_us;
        return;
    }

    if (len == 0 || len > hls->size / 4) {
        pk->part_start = end_us;
        return;
    }

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    if (hls->gen != pk->gen) {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    pos = hls->written;
    hls->reserved = pos + len;
    ngx_memory_barrier();

    off = pos % hls->size;
    m = ngx_min(len, hls->size - off);
    ngx_memcpy(hls->data + off, pk->out, m);
    ngx_memcpy(hls->data, pk->out + m, len - m);

    ngx_memory_barrier();
    hls->written = pos + len;

    part = &hls->parts[hls->nparts & (NGX_WEBRTC_HLS_PARTS - 1)];
    part->pos = pos;
    part->len = (uint32_t) len;
    part->duration = (uint32_t) (end_us - pk->part_start);
    part->msn = hls->nsegments - 1;
    part->part = (uint32_t) pk->part_in_seg;
    part->independent = independent;

    seg = &hls->segments[(hls->nsegments - 1) & (NGX_WEBRTC_HLS_SEGMENTS - 1)];
    seg->nparts++;
    seg->duration += part->duration;

    ngx_memory_barrier();
    hls->nparts++;
    hls->end_us = end_us;

    pk->part_start = end_us;
    pk->part_in_seg++;

    if (new_segment) {
        seg->complete = 1;
        hls->target = ngx_max(hls->target,
                              (uint32_t) ((seg->duration + 500000) / 1000000));

        pk->seg_start = end_us;
        ngx_webrtc_hls_segment_locked(pk, hls);
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


static void
ngx_webrtc_hls_segment_locked(ngx_webrtc_hls_packager_t *pk,
    ngx_webrtc_hls_t *hls)
{
    uint32_t                   disc;
    ngx_webrtc_hls_segment_t  *seg;

    if (hls->nsegments) {
        seg = &hls->segments[(hls->nsegments - 1)
                             & (NGX_WEBRTC_HLS_SEGMENTS - 1)];

        if (seg->nparts == 0) {
            /* the last publisher left it empty: it is this one now */
            hls->nsegments--;
            pk->discontinuity |= seg->discontinuity;
        }
    }

    disc = 0;

    if (hls->nsegments) {
        disc = hls->segments[(hls->nsegments - 1)
                             & (NGX_WEBRTC_HLS_SEGMENTS - 1)].disc;

        if (pk->discontinuity) {
            disc++;
        }
    }

    seg = &hls->segments[hls->nsegments & (NGX_WEBRTC_HLS_SEGMENTS - 1)];

    ngx_memzero(seg, sizeof(ngx_webrtc_hls_segment_t));

    seg->msn = hls->nsegments;
    seg->init = pk->init;
    seg->first_part = hls->nparts;
    seg->pdt = pk->pdt_zero + (pk->seg_start - pk->zero_us) / 1000;
    seg->discontinuity = (hls->nsegments && pk->discontinuity);
    seg->disc = disc;

    pk->discontinuity = 0;
    pk->part_in_seg = 0;

    ngx_memory_barrier();
    hls->nsegments++;
}


/* RFC 6716 3.1: the samples at 48 kHz of an Opus packet, 0 if malformed */

static uint32_t
ngx_webrtc_hls_opus_duration(u_char *p, size_t len)
{
    ngx_uint_t  config, frames;
    uint32_t    size;

    static uint32_t  silk[] = { 480, 960, 1920, 2880 };
    static uint32_t  celt[] = { 120, 240, 480, 960 };

    if (len == 0) {
        return 0;
    }

    config = p[0] >> 3;

    if (config < 12) {
        size = silk[config & 3];

    } else if (config < 16) {
        size = (config & 1) ? 960 : 480;

    } else {
        size = celt[config & 3];
    }

    switch (p[0] & 3) {

    case 0:
        frames = 1;
        break;

    case 1:
    case 2:
        frames = 2;
        break;

    default:
        if (len < 2) {
            return 0;
        }

        frames = p[1] & 0x3f;
    }

    if (frames == 0 || size * frames > 5760) {
        return 0;
    }

    return size * (uint32_t) frames;
}


/* once a second: is the publisher still here; a stopped packager lingers */

static void
ngx_webrtc_hls_tick(ngx_event_t *ev)
{
    ngx_webrtc_hls_packager_t  *pk;

    pk = ev->data;

    if (!pk->done) {
        if (!ngx_webrtc_hls_ours(pk)
            || pk->st->pub_pid != ngx_pid
            || ngx_memcmp(pk->st->pub_id, pk->pub_id, NGX_WEBRTC_ID_LEN)
               != 0)
        {
            ngx_webrtc_hls_stop(pk);
        }

        ngx_add_timer(ev, NGX_WEBRTC_HLS_TICK);
        return;
    }

    if (pk->hls && pk->hls->gen == pk->gen
        && (ngx_msec_int_t) (pk->linger_until - ngx_current_msec) > 0)
    {
        ngx_add_timer(ev, NGX_WEBRTC_HLS_TICK);
        return;
    }

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    ngx_queue_remove(&pk->queue);
    ngx_webrtc_stream_release(pk->st);
    ngx_free(pk);
}


/*
 * The publisher left (or another took the stream): the playlist ends
 * unless a new publisher's packager continues it; the store stays with
 * our reference for a window's time, so that players see the end.
 */

static void
ngx_webrtc_hls_stop(ngx_webrtc_hls_packager_t *pk)
{
    ngx_uint_t          k;
    ngx_slab_pool_t    *shpool;
    ngx_webrtc_conf_t  *conf;

    if (pk->done) {
        return;
    }

    pk->done = 1;

    ngx_webrtc_stream_reader_del(&pk->reader);

    conf = ngx_webrtc_worker->conf;
    shpool = ngx_webrtc_worker->shm->shpool;

    if (pk->rec) {
        ngx_webrtc_record_close(pk->rec, pk->part_start - pk->zero_us);
        pk->rec = NULL;
    }

    if (pk->hls) {
        ngx_shmtx_lock(&shpool->mutex);

        if (pk->hls->gen == pk->gen) {
            pk->hls->ended = 1;
        }

        ngx_shmtx_unlock(&shpool->mutex);
    }

    pk->linger_until = ngx_current_msec
                       + conf->hls_window * conf->hls_fragment;

    for (k = 0; k < NGX_WEBRTC_MEDIA_TRACKS; k++) {
        if (pk->tracks[k].data) {
            ngx_free(pk->tracks[k].data);
            pk->tracks[k].data = NULL;
        }

        if (pk->tracks[k].dp.buf) {
            ngx_free(pk->tracks[k].dp.buf);
            pk->tracks[k].dp.buf = NULL;
        }
    }

    ngx_free(pk->out);
    pk->out = NULL;
}
