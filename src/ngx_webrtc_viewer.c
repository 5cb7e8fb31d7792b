
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_viewer.h"
#include "ngx_webrtc_udp.h"
#include "ngx_webrtc_tcp.h"


/*
 * Viewers.  The viewers of a stream in one worker form a group, one
 * reader of the stream's ring with one cursor.  Each viewer gets its own
 * SSRC, payload type and offsets; packets are read from the ring first
 * and then sent viewer by viewer, SRTP-protected into the worker's send
 * batch.  A new viewer starts with the packets since the last keyframe,
 * so that the first picture needs no new keyframe; its NACKs are
 * answered from the ring, its PLI goes to the publisher, and it gets
 * sender reports so that players can sync audio and video.
 */


#define NGX_WEBRTC_PUMP_SLOTS    32     /* ring slots read per round */
#define NGX_WEBRTC_REPLAY_BATCH  64     /* replayed packets per turn */
#define NGX_WEBRTC_NACK_MAX      64


/*
 * Simulcast layer choice from the viewer's receiver reports: fraction
 * lost (of 256) above LOSS_HIGH in LOSS_REPORTS reports in a row moves it
 * a layer down, below LOSS_LOW for LOSS_QUIET ms a layer up; a move
 * down soon after a move up (the layer did not fit) doubles the quiet
 * time, up to LOSS_QUIET_MAX; for LOSS_SETTLE ms after a move, reports
 * (of the old layer, the switch waits for a keyframe) move nothing.  A
 * layer that sent nothing for LAYER_IDLE ms is gone.  Switch requests
 * (PLI) at most once a second.
 */
#define NGX_WEBRTC_LOSS_HIGH       26     /* 10 % */
#define NGX_WEBRTC_LOSS_LOW        5      /* 2 % */
#define NGX_WEBRTC_LOSS_REPORTS    2
#define NGX_WEBRTC_LOSS_QUIET      10000
#define NGX_WEBRTC_LOSS_QUIET_MAX  80000
#define NGX_WEBRTC_LOSS_SETTLE     3000
#define NGX_WEBRTC_LAYER_IDLE      2000


/*
 * What a viewer's NACKs may cost: at most NGX_WEBRTC_NACK_RATE packets
 * resent a second, and the same packet at most once in
 * NGX_WEBRTC_RESEND_GAP: a viewer cannot turn the server into an
 * amplifier by asking again and again.
 */
#define NGX_WEBRTC_NACK_RATE     256
#define NGX_WEBRTC_RESEND_GAP    100    /* ms */
#define NGX_WEBRTC_RESENT        32     /* a power of 2 */


typedef struct ngx_webrtc_group_s  ngx_webrtc_group_t;


/* a packet resent, by ring index, to resend it once per gap only */
typedef struct {
    uint64_t                    idx;
    ngx_msec_t                  at;
} ngx_webrtc_resent_t;


typedef struct {
    ngx_queue_t                 queue;        /* in the group */
    ngx_webrtc_session_t       *session;
    ngx_webrtc_group_t         *group;
    uint64_t                    replay_idx;   /* the cached GOP, paced */
    ngx_queue_t                 replay_queue;
    ngx_msec_t                  nack_second;
    ngx_uint_t                  nack_budget;
    ngx_webrtc_resent_t         resent[NGX_WEBRTC_RESENT];

    /*
     * simulcast: the layer pinned through the WHEP layer extension, by
     * rid (ranks may change); else the path's: the largest stream track
     * it sustains ("cap", 1: the top), lowered after reports of loss,
     * raised after a quiet time
     */
    u_char                      pin_rid[NGX_WEBRTC_RID_MAX];
    size_t                      pin_rid_len;
    ngx_uint_t                  cap;
    ngx_uint_t                  lossy;        /* reports in a row */
    ngx_msec_t                  quiet_since;
    ngx_msec_t                  quiet;        /* before a move up */
    ngx_msec_t                  up_at;        /* the last move up */
    ngx_msec_t                  moved_at;     /* the last move */

    unsigned                    replaying:1;
    unsigned                    tcp_skip:NGX_WEBRTC_MAX_TRACKS;
} ngx_webrtc_viewer_t;


/* the viewers of one stream in this worker */
struct ngx_webrtc_group_s {
    ngx_queue_t                 queue;
    ngx_webrtc_reader_t         reader;
    ngx_webrtc_stream_t        *st;
    uint64_t                    cursor;
    ngx_queue_t                 viewers;
    ngx_uint_t                  nviewers;
};


typedef struct {
    ngx_webrtc_session_t       *session;
    ngx_uint_t                  count;
} ngx_webrtc_nack_ctx_t;


static void ngx_webrtc_viewer_connected(ngx_webrtc_session_t *s);
static void ngx_webrtc_viewer_rtcp(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
static void ngx_webrtc_viewer_leave(ngx_webrtc_session_t *s);
static ngx_webrtc_group_t *ngx_webrtc_group_get(ngx_webrtc_stream_t *st);
static void ngx_webrtc_group_read(ngx_webrtc_reader_t *rd, ngx_uint_t event);
static void ngx_webrtc_group_pump(ngx_webrtc_group_t *g,
    ngx_uint_t may_close);
static void ngx_webrtc_group_close(ngx_webrtc_group_t *g);
static void ngx_webrtc_viewer_send(ngx_webrtc_session_t *s,
    ngx_webrtc_slot_t *slot, ngx_uint_t resend);
static ngx_int_t ngx_webrtc_viewer_count(ngx_webrtc_session_t *s,
    ngx_webrtc_track_t *t, ngx_webrtc_slot_t *slot);
static ssize_t ngx_webrtc_viewer_packet(ngx_webrtc_session_t *s,
    ngx_webrtc_track_t *t, ngx_webrtc_slot_t *slot, uint64_t index, u_char *p);
static void ngx_webrtc_viewer_send_tcp(ngx_webrtc_session_t *s,
    ngx_webrtc_track_t *t, ngx_webrtc_slot_t *slot, ngx_uint_t resend);
static ngx_int_t ngx_webrtc_viewer_tcp_room(ngx_webrtc_session_t *s,
    ngx_webrtc_track_t *t, ngx_webrtc_slot_t *slot, ngx_uint_t resend);
static void ngx_webrtc_viewer_switch(ngx_webrtc_session_t *s,
    ngx_webrtc_track_t *t, ngx_webrtc_slot_t *slot);
static void ngx_webrtc_viewer_replay_start(ngx_webrtc_viewer_t *v);
static void ngx_webrtc_viewer_replay(ngx_event_t *ev);
static void ngx_webrtc_viewer_nack(void *data, uint32_t media_ssrc,
    uint16_t pid, uint16_t blp);
static void ngx_webrtc_viewer_report(ngx_webrtc_session_t *s);
static void ngx_webrtc_viewer_loss(ngx_webrtc_viewer_t *v,
    ngx_uint_t fraction_lost);
static void ngx_webrtc_viewer_adapt(ngx_webrtc_session_t *s);
static ngx_uint_t ngx_webrtc_viewer_active(ngx_webrtc_stream_t *st,
    ngx_uint_t k);
static void ngx_webrtc_viewer_shown(ngx_webrtc_session_t *s,
    ngx_webrtc_track_t *t, ngx_uint_t k);
static uint64_t ngx_webrtc_ntp_now(void);


static const ngx_webrtc_role_t  ngx_webrtc_viewer_role = {
    ngx_webrtc_viewer_connected,
    NULL,
    ngx_webrtc_viewer_rtcp,
    ngx_webrtc_viewer_report,
    ngx_webrtc_viewer_leave
};


static ngx_queue_t        ngx_webrtc_viewer_groups;
static ngx_queue_t        ngx_webrtc_viewer_replays;
static ngx_event_t        ngx_webrtc_viewer_replay_event;
static ngx_webrtc_slot_t  ngx_webrtc_viewer_slots[NGX_WEBRTC_PUMP_SLOTS];


void
ngx_webrtc_viewer_init(void)
{
    ngx_queue_init(&ngx_webrtc_viewer_groups);
    ngx_queue_init(&ngx_webrtc_viewer_replays);

    ngx_webrtc_viewer_replay_event.handler = ngx_webrtc_viewer_replay;
    ngx_webrtc_viewer_replay_event.data = ngx_webrtc_worker;
    ngx_webrtc_viewer_replay_event.log = ngx_webrtc_worker->log;
}


void
ngx_webrtc_viewer_shutdown(void)
{
    if (ngx_webrtc_viewer_replay_event.posted) {
        ngx_delete_posted_event(&ngx_webrtc_viewer_replay_event);
    }
}


/*
 * A viewer session joins its worker's group of the stream; the session
 * holds a reference to the stream (s->st) until it leaves.
 */

ngx_int_t
ngx_webrtc_viewer_join(ngx_webrtc_session_t *s)
{
    ngx_uint_t            i;
    ngx_webrtc_group_t   *g;
    ngx_webrtc_viewer_t  *v;

    v = ngx_pcalloc(s->pool, sizeof(ngx_webrtc_viewer_t));
    if (v == NULL) {
        return NGX_ERROR;
    }

    g = ngx_webrtc_group_get(s->st);
    if (g == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < s->ntracks; i++) {
        /* the top layer until the viewer or its path says otherwise */
        s->tracks[i].stream_track = 1;
        s->tracks[i].target = 1;
    }

    v->session = s;
    v->group = g;
    v->cap = 1;
    v->quiet_since = ngx_current_msec;
    v->quiet = NGX_WEBRTC_LOSS_QUIET;
    ngx_queue_insert_tail(&g->viewers, &v->queue);
    g->nviewers++;

    s->ctx = v;
    s->handler = &ngx_webrtc_viewer_role;

    ngx_webrtc_stream_viewers(s->st, 1);

    return NGX_OK;
}


static void
ngx_webrtc_viewer_connected(ngx_webrtc_session_t *s)
{
    ngx_webrtc_viewer_replay_start(s->ctx);
}


static void
ngx_webrtc_viewer_leave(ngx_webrtc_session_t *s)
{
    ngx_webrtc_group_t   *g;
    ngx_webrtc_viewer_t  *v;

    v = s->ctx;
    g = v->group;

    if (v->replaying) {
        v->replaying = 0;
        ngx_queue_remove(&v->replay_queue);
    }

    ngx_queue_remove(&v->queue);
    v->group = NULL;

    ngx_webrtc_stream_viewers(s->st, -1);

    if (--g->nviewers == 0) {
        ngx_webrtc_stream_reader_del(&g->reader);
        ngx_queue_remove(&g->queue);
        ngx_free(g);
    }

    ngx_webrtc_stream_release(s->st);
    s->st = NULL;
}


static ngx_webrtc_group_t *
ngx_webrtc_group_get(ngx_webrtc_stream_t *st)
{
    ngx_queue_t         *q;
    ngx_webrtc_group_t  *g;

    for (q = ngx_queue_head(&ngx_webrtc_viewer_groups);
         q != ngx_queue_sentinel(&ngx_webrtc_viewer_groups);
         q = ngx_queue_next(q))
    {
        g = ngx_queue_data(q, ngx_webrtc_group_t, queue);

        if (g->st == st) {
            return g;
        }
    }

    g = ngx_calloc(sizeof(ngx_webrtc_group_t), ngx_webrtc_worker->log);
    if (g == NULL) {
        return NULL;
    }

    g->st = st;
    g->reader.st = st;
    g->reader.handler = ngx_webrtc_group_read;
    g->reader.data = g;

    if (ngx_webrtc_stream_reader_add(&g->reader) != NGX_OK) {
        ngx_free(g);
        return NULL;
    }

    g->cursor = st->ring.write_idx;
    ngx_queue_init(&g->viewers);
    ngx_queue_insert_tail(&ngx_webrtc_viewer_groups, &g->queue);

    return g;
}


static void
ngx_webrtc_group_read(ngx_webrtc_reader_t *rd, ngx_uint_t event)
{
    if (event == NGX_WEBRTC_READ_NEW) {
        ngx_webrtc_group_pump(rd->data, 1);
    }
}


static void
ngx_webrtc_group_pump(ngx_webrtc_group_t *g, ngx_uint_t may_close)
{
    uint64_t                  end;
    ngx_uint_t                i, n;
    ngx_queue_t              *q;
    ngx_webrtc_slot_t        *slots;
    ngx_webrtc_viewer_t      *v;
    ngx_webrtc_stream_t      *st;

    st = g->st;

    if (st->pub_pid == 0 && st->close_viewers) {
        if (may_close) {
            ngx_webrtc_group_close(g);
        }

        return;
    }

    end = st->ring.write_idx;
    ngx_memory_barrier();

    if (end - g->cursor > NGX_WEBRTC_RING_SLOTS) {
        /* this worker fell a whole ring behind: skip to what is there */
        g->cursor = end - NGX_WEBRTC_RING_SLOTS / 2;
    }

    slots = ngx_webrtc_viewer_slots;

    while (g->cursor < end) {

        for (n = 0;
             n < NGX_WEBRTC_PUMP_SLOTS && g->cursor < end;
             g->cursor++)
        {
            if (ngx_webrtc_ring_read(&st->ring, g->cursor, &slots[n]) == NGX_OK) {
                n++;
            }
        }

        for (q = ngx_queue_head(&g->viewers);
             q != ngx_queue_sentinel(&g->viewers);
             q = ngx_queue_next(q))
        {
            v = ngx_queue_data(q, ngx_webrtc_viewer_t, queue);

            if (!v->session->dtls.done || v->replaying) {
                continue;
            }

            for (i = 0; i < n; i++) {
                ngx_webrtc_viewer_send(v->session, &slots[i], 0);
            }
        }
    }
}


static void
ngx_webrtc_group_close(ngx_webrtc_group_t *g)
{
    ngx_uint_t             n;
    ngx_queue_t           *q;
    ngx_webrtc_viewer_t   *v;

    n = 0;

    for (q = ngx_queue_head(&g->viewers);
         q != ngx_queue_sentinel(&g->viewers);
         q = ngx_queue_next(q))
    {
        n++;
    }

    /* the last leave may free the group: do not touch it after that */

    while (n--) {
        q = ngx_queue_head(&g->viewers);
        v = ngx_queue_data(q, ngx_webrtc_viewer_t, queue);
        ngx_webrtc_session_close(v->session, "publisher gone");
    }
}


static ngx_webrtc_track_t *
ngx_webrtc_viewer_track(ngx_webrtc_session_t *s, ngx_uint_t k)
{
    ngx_uint_t  i, kind;

    kind = (k == 0) ? NGX_WEBRTC_MEDIA_AUDIO : NGX_WEBRTC_MEDIA_VIDEO;

    for (i = 0; i < s->ntracks; i++) {
        if (s->tracks[i].kind == kind) {
            return &s->tracks[i];
        }
    }

    return NULL;
}


/* one packet to one viewer: its header, SRTP, into the send batch */

static void
ngx_webrtc_viewer_send(ngx_webrtc_session_t *s, ngx_webrtc_slot_t *slot,
    ngx_uint_t resend)
{
    u_char              *p;
    ssize_t              len;
    uint64_t             index;
    ngx_webrtc_track_t  *t;

    t = ngx_webrtc_viewer_track(s, slot->track);
    if (t == NULL) {
        return;
    }

    if (slot->track && slot->track != t->stream_track) {
        /* another simulcast layer: taken at its keyframe if wanted */
        if (resend || slot->track != t->target || !slot->keyframe) {
            return;
        }

        ngx_webrtc_viewer_switch(s, t, slot);

        if (t->started) {
            /*
             * the new layer's first packet twice (H.264: its SPS and
             * PPS): a decoder that misses it decodes the layer's IDR
             * with the old layer's parameter sets, of the old size
             */
            ngx_webrtc_viewer_send(s, slot, 1);
        }
    }

    if (!t->started) {
        /* video starts on a keyframe, audio at once */
        if (t->kind == NGX_WEBRTC_MEDIA_VIDEO && !slot->keyframe) {
            return;
        }

        /*
         * the first sequence number below 2^15, as browsers pick theirs:
         * no wrap (which moves SRTP's rollover counter) can come before
         * a packet the viewer receives, even if the first few are lost
         */
        ngx_webrtc_out_index_start(&t->out, slot->seq, t->seq_start & 0x7fff);
        t->started = 1;

        if (slot->track) {
            ngx_webrtc_viewer_shown(s, t, slot->track);
        }
    }

    if (s->tcp) {
        ngx_webrtc_viewer_send_tcp(s, t, slot, resend);
        return;
    }

    index = ngx_webrtc_out_index(&t->out, slot->seq, resend);
    if (index == NGX_WEBRTC_INDEX_NONE) {
        return;
    }

    if (!resend && ngx_webrtc_viewer_count(s, t, slot) != NGX_OK) {
        return;
    }

    p = ngx_webrtc_udp_batch_buf(ngx_webrtc_worker->udp);

    len = ngx_webrtc_viewer_packet(s, t, slot, index, p);
    if (len < 0) {
        return;
    }

    ngx_webrtc_udp_batch_add(ngx_webrtc_worker->udp,
                             (struct sockaddr *) &s->peer, s->peer_len, p,
                             len);
}


/* a packet sent, for the reports and the status */

static ngx_int_t
ngx_webrtc_viewer_count(ngx_webrtc_session_t *s, ngx_webrtc_track_t *t,
    ngx_webrtc_slot_t *slot)
{
    ngx_webrtc_shm_track_t  *st;

    st = &s->shm->tracks[t - s->tracks];

    t->sent_packets++;
    t->sent_octets += slot->len;
    t->last_ts = slot->ts + t->ts_off;         /* for a layer switch */
    t->last_msec = ngx_current_msec;

    st->packets++;
    st->bytes += slot->len;

    /* webrtc_debug_drop: loss on the way to viewers, for tests */
    if (ngx_webrtc_worker->conf->debug_drop
        && (ngx_uint_t) (ngx_random() % 100)
           < ngx_webrtc_worker->conf->debug_drop)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the viewer's RTP header at p, the payload SRTP-protected after it */

static ssize_t
ngx_webrtc_viewer_packet(ngx_webrtc_session_t *s, ngx_webrtc_track_t *t,
    ngx_webrtc_slot_t *slot, uint64_t index, u_char *p)
{
    uint16_t  seq;
    uint32_t  ts;

    seq = (uint16_t) index;
    ts = slot->ts + t->ts_off;

    p[0] = 0x80;
    p[1] = (u_char) ((slot->marker ? 0x80 : 0) | (t->pt & 0x7f));
    p[2] = (u_char) (seq >> 8);
    p[3] = (u_char) seq;
    p[4] = (u_char) (ts >> 24);
    p[5] = (u_char) (ts >> 16);
    p[6] = (u_char) (ts >> 8);
    p[7] = (u_char) ts;
    p[8] = (u_char) (t->out_ssrc >> 24);
    p[9] = (u_char) (t->out_ssrc >> 16);
    p[10] = (u_char) (t->out_ssrc >> 8);
    p[11] = (u_char) t->out_ssrc;

    return ngx_webrtc_srtp_protect(&s->srtp, index, p, slot->data, slot->len);
}


/* the same into the viewer's ICE-TCP connection, if it has room */

static void
ngx_webrtc_viewer_send_tcp(ngx_webrtc_session_t *s, ngx_webrtc_track_t *t,
    ngx_webrtc_slot_t *slot, ngx_uint_t resend)
{
    u_char    *p;
    ssize_t    len;
    uint64_t   index;

    if (ngx_webrtc_viewer_tcp_room(s, t, slot, resend) != NGX_OK) {
        return;
    }

    index = ngx_webrtc_out_index(&t->out, slot->seq, resend);
    if (index == NGX_WEBRTC_INDEX_NONE) {
        return;
    }

    if (!resend && ngx_webrtc_viewer_count(s, t, slot) != NGX_OK) {
        return;
    }

    p = ngx_webrtc_tcp_buf(s->tcp, NGX_WEBRTC_UDP_PKT_MAX);
    if (p == NULL) {
        return;
    }

    len = ngx_webrtc_viewer_packet(s, t, slot, index, p);
    if (len < 0) {
        return;
    }

    ngx_webrtc_tcp_commit(s->tcp, len);
}


/*
 * An ICE-TCP viewer whose connection's buffer is full (its network or
 * its reading is slower than the stream) skips: what is queued and not
 * begun is dropped (it is late), and so are its packets until the
 * buffer has a quarter free and a keyframe comes (any packet for audio),
 * which a request to the publisher hastens.  Its numbering goes on from
 * the last packet sent, so it sees no gap to NACK, and the buffer never
 * grows.
 */

static ngx_int_t
ngx_webrtc_viewer_tcp_room(ngx_webrtc_session_t *s, ngx_webrtc_track_t *t,
    ngx_webrtc_slot_t *slot, ngx_uint_t resend)
{
    size_t                room;
    ngx_uint_t            bit;
    ngx_webrtc_viewer_t  *v;

    v = s->ctx;
    bit = (ngx_uint_t) 1 << (t - s->tracks);
    room = ngx_webrtc_tcp_room(s->tcp);

    if (v->tcp_skip & bit) {
        if (resend) {
            return NGX_DECLINED;
        }

        if (room < NGX_WEBRTC_TCP_OUT / 4) {
            s->shm->tcp_dropped++;
            return NGX_DECLINED;
        }

        if (t->kind == NGX_WEBRTC_MEDIA_VIDEO && !slot->keyframe) {
            /*
             * room again: ask until a keyframe comes (once a second per
             * stream at most; a request may have been lost, or refused
             * by that limit); a viewer that stays stalled asks only
             * when its buffer has drained
             */
            if (s->st) {
                ngx_webrtc_stream_keyframe_request(s->st);
            }

            s->shm->tcp_dropped++;
            return NGX_DECLINED;
        }

        v->tcp_skip &= ~bit;
        ngx_webrtc_out_index_resume(&t->out, slot->seq);

        return NGX_OK;
    }

    if (room >= 2 + NGX_WEBRTC_UDP_PKT_MAX) {
        return NGX_OK;
    }

    if (resend) {
        return NGX_DECLINED;
    }

    /* every track skips: the late packets of all are dropped */
    v->tcp_skip = (1 << NGX_WEBRTC_MAX_TRACKS) - 1;
    s->shm->tcp_skips++;
    s->shm->tcp_dropped += 1 + ngx_webrtc_tcp_discard(s->tcp);

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                   "webrtc: ICE-TCP buffer full, track %ui skips to the "
                   "next keyframe", (ngx_uint_t) (t - s->tracks));

    if (t->kind == NGX_WEBRTC_MEDIA_VIDEO && s->st) {
        ngx_webrtc_stream_keyframe_request(s->st);
    }

    return NGX_DECLINED;
}


/*
 * The viewer's video moves to another simulcast layer at a keyframe of
 * it: its numbering goes on from the last packet sent, its timestamps
 * from the last sent plus the time since, so that its decoder sees one
 * stream whose picture changes size.
 */

static void
ngx_webrtc_viewer_switch(ngx_webrtc_session_t *s, ngx_webrtc_track_t *t,
    ngx_webrtc_slot_t *slot)
{
    uint32_t  ts;

    if (t->started) {
        ngx_webrtc_out_index_resume(&t->out, slot->seq);

        ts = t->last_ts + 1
             + (uint32_t) ((uint64_t) (ngx_current_msec - t->last_msec)
                           * t->clock_rate / 1000);
        t->ts_off = ts - slot->ts;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                   "webrtc: viewer video from stream track %ui to %ui%s",
                   t->stream_track, (ngx_uint_t) slot->track,
                   t->started ? "" : " before its start");

    t->stream_track = slot->track;

    if (t->started) {
        ngx_webrtc_viewer_shown(s, t, slot->track);
    }
}


/* the status shows the viewer's layer */

static void
ngx_webrtc_viewer_shown(ngx_webrtc_session_t *s, ngx_webrtc_track_t *t,
    ngx_uint_t k)
{
    ngx_webrtc_shm_track_t     *st;
    ngx_webrtc_stream_track_t  *sk;

    st = &s->shm->tracks[t - s->tracks];
    sk = &s->st->tracks[k];

    st->layer = k - 1;
    st->rid_len = ngx_min(sk->rid_len, NGX_WEBRTC_RID_MAX);
    ngx_memcpy(st->rid, sk->rid, st->rid_len);
}


/*
 * The WHEP layer extension pinned the viewer's video to a layer, or
 * unpinned it: its record in shared memory says which.
 */

void
ngx_webrtc_viewer_pin(ngx_webrtc_session_t *s)
{
    ngx_slab_pool_t      *shpool;
    ngx_webrtc_viewer_t  *v;

    v = s->ctx;

    if (v == NULL || v->group == NULL) {
        return;
    }

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    v->pin_rid_len = ngx_min(s->shm->pin_rid_len, NGX_WEBRTC_RID_MAX);
    ngx_memcpy(v->pin_rid, s->shm->pin_rid, v->pin_rid_len);

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                   "webrtc: viewer pinned to layer \"%*s\"",
                   v->pin_rid_len, v->pin_rid);

    ngx_webrtc_viewer_adapt(s);
}


/* a receiver report's loss of the viewer's video */

static void
ngx_webrtc_viewer_loss(ngx_webrtc_viewer_t *v, ngx_uint_t fraction_lost)
{
    ngx_msec_t  now;

    now = ngx_current_msec;

    if (fraction_lost > NGX_WEBRTC_LOSS_HIGH) {
        v->quiet_since = now;

        if (now - v->moved_at < NGX_WEBRTC_LOSS_SETTLE) {
            v->lossy = 0;
            return;
        }

        if (++v->lossy >= NGX_WEBRTC_LOSS_REPORTS) {
            v->lossy = 0;

            if (v->cap < NGX_WEBRTC_MAX_TRACKS - 1) {
                v->cap++;
                v->moved_at = now;

                if (v->up_at && now - v->up_at < 2 * v->quiet) {
                    v->quiet = ngx_min(2 * v->quiet,
                                       NGX_WEBRTC_LOSS_QUIET_MAX);
                }
            }
        }

        return;
    }

    v->lossy = 0;

    if (fraction_lost > NGX_WEBRTC_LOSS_LOW) {
        v->quiet_since = now;
        return;
    }

    if (now - v->quiet_since >= v->quiet && v->cap > 1) {
        v->cap--;
        v->quiet_since = now;
        v->up_at = now;
        v->moved_at = now;
    }
}


/*
 * The layer the viewer's video should get: the pinned one, else the
 * largest at or below its cap that sends; if none sends there, the
 * nearest above.  A new target is asked of the publisher (PLI); the
 * switch happens at its keyframe.
 */

static void
ngx_webrtc_viewer_adapt(ngx_webrtc_session_t *s)
{
    ngx_uint_t            i, k, want;
    ngx_webrtc_track_t   *t;
    ngx_webrtc_stream_t  *st;
    ngx_webrtc_viewer_t  *v;

    v = s->ctx;
    st = s->st;
    t = NULL;

    for (i = 0; i < s->ntracks; i++) {
        if (s->tracks[i].kind == NGX_WEBRTC_MEDIA_VIDEO) {
            t = &s->tracks[i];
        }
    }

    if (t == NULL || st == NULL) {
        return;
    }

    want = v->cap;

    if (v->pin_rid_len) {
        k = ngx_webrtc_stream_layer(st, v->pin_rid, v->pin_rid_len);
        if (k) {
            want = k;
        }
    }

    k = 0;

    for (i = want; i < NGX_WEBRTC_MAX_TRACKS; i++) {
        if (ngx_webrtc_viewer_active(st, i)) {
            k = i;
            break;
        }
    }

    for (i = want - 1; k == 0 && i >= 1; i--) {
        if (ngx_webrtc_viewer_active(st, i)) {
            k = i;
        }
    }

    if (k == 0) {
        /* nothing sends: keep what it has */
        return;
    }

    t->target = k;

    if (k != t->stream_track
        && ngx_current_msec - t->switch_request >= 1000)
    {
        t->switch_request = ngx_current_msec;
        ngx_webrtc_stream_layer_keyframe(st, k);
    }
}


static ngx_uint_t
ngx_webrtc_viewer_active(ngx_webrtc_stream_t *st, ngx_uint_t k)
{
    return st->tracks[k].kind && st->tracks[k].started
           && ngx_current_msec - st->tracks[k].last_msec
              < NGX_WEBRTC_LAYER_IDLE;
}


/*
 * DTLS is up: the viewer gets the packets since the last keyframe (video
 * only; old audio would only be dropped by the player), then joins its
 * group live.  The replay is paced, a batch per event loop turn, so that
 * many joining viewers do not starve the socket of the publishers.
 */


static void
ngx_webrtc_viewer_replay_start(ngx_webrtc_viewer_t *v)
{
    uint64_t               idx;
    ngx_webrtc_stream_t   *st;

    st = v->group->st;

    idx = st->ring.keyframe_idx;
    ngx_memory_barrier();

    if (idx == NGX_WEBRTC_RING_NONE || idx >= v->group->cursor
        || v->group->cursor - idx >= NGX_WEBRTC_RING_SLOTS)
    {
        /* no keyframe cached: ask the publisher for one */
        ngx_webrtc_stream_layer_keyframe(st, NGX_WEBRTC_RING_KEY_TRACK);
        return;
    }

    v->replay_idx = idx;
    v->replaying = 1;
    ngx_queue_insert_tail(&ngx_webrtc_viewer_replays, &v->replay_queue);

    ngx_webrtc_viewer_replay(&ngx_webrtc_viewer_replay_event);
}


static void
ngx_webrtc_viewer_replay(ngx_event_t *ev)
{
    uint64_t               end;
    ngx_uint_t             n;
    ngx_queue_t           *q, *next;
    ngx_webrtc_viewer_t   *v;
    ngx_webrtc_slot_t      slot;

    for (q = ngx_queue_head(&ngx_webrtc_viewer_replays);
         q != ngx_queue_sentinel(&ngx_webrtc_viewer_replays);
         q = next)
    {
        next = ngx_queue_next(q);
        v = ngx_queue_data(q, ngx_webrtc_viewer_t, replay_queue);

        end = v->group->cursor;

        if (end - v->replay_idx > NGX_WEBRTC_RING_SLOTS) {
            v->replay_idx = end;
        }

        for (n = 0; n < NGX_WEBRTC_REPLAY_BATCH && v->replay_idx < end;
             v->replay_idx++)
        {
            if (ngx_webrtc_ring_read(&v->group->st->ring, v->replay_idx, &slot) != NGX_OK
                || slot.track != 1)
            {
                continue;
            }

            ngx_webrtc_viewer_send(v->session, &slot, 0);
            n++;
        }

        if (v->replay_idx >= end) {
            /* caught up: live with the group from here */
            v->replaying = 0;
            ngx_queue_remove(&v->replay_queue);
        }
    }

    ngx_webrtc_udp_batch_flush(ngx_webrtc_worker->udp);

    if (!ngx_queue_empty(&ngx_webrtc_viewer_replays) && !ev->posted) {
        ngx_post_event(ev, &ngx_posted_events);
    }
}


/* RTCP from a viewer: NACK, PLI/FIR, receiver reports */

static void
ngx_webrtc_viewer_rtcp(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    uint32_t                 now, rtt;
    ngx_uint_t               i, j;
    ngx_webrtc_track_t      *t;
    ngx_webrtc_nack_ctx_t    ctx;
    ngx_webrtc_rtcp_info_t   info;
    ngx_webrtc_shm_track_t  *st;

    s->shm->last_rx = ngx_current_msec;

    /* the client has its keys: DTLS has done its part */
    ngx_webrtc_session_release_dtls(s);

    if (ngx_webrtc_rtcp_parse(&info, buf, len) != NGX_WEBRTC_PARSE_OK) {
        return;
    }

    if (info.pli || info.fir) {
        for (i = 0; i < s->ntracks; i++) {
            if (s->tracks[i].kind == NGX_WEBRTC_MEDIA_VIDEO) {
                s->shm->tracks[i].plis += info.pli + info.fir;
            }
        }

        if (s->st) {
            /* of the layer it decodes */
            for (i = 0; i < s->ntracks; i++) {
                if (s->tracks[i].kind == NGX_WEBRTC_MEDIA_VIDEO) {
                    ngx_webrtc_stream_layer_keyframe(s->st,
                                                  s->tracks[i].stream_track);
                }
            }
        }
    }

    if (info.nack_packets) {
        ctx.session = s;
        ctx.count = 0;

        (void) ngx_webrtc_rtcp_nacks(buf, len, NGX_WEBRTC_NACK_MAX,
                                     ngx_webrtc_viewer_nack, &ctx);
        ngx_webrtc_udp_batch_flush(ngx_webrtc_worker->udp);
    }

    now = (uint32_t) (ngx_webrtc_ntp_now() >> 16);

    for (i = 0; i < info.nreports; i++) {
        for (j = 0; j < s->ntracks; j++) {
            t = &s->tracks[j];

            if (t->out_ssrc != info.reports[i].ssrc) {
                continue;
            }

            st = &s->shm->tracks[j];
            st->fraction_lost = info.reports[i].fraction_lost;

            if (t->kind == NGX_WEBRTC_MEDIA_VIDEO) {
                ngx_webrtc_viewer_loss(s->ctx, info.reports[i].fraction_lost);
            }

            if (info.reports[i].lsr) {
                rtt = now - info.reports[i].lsr - info.reports[i].dlsr;

                /* 1/65536 s to ms; ignore nonsense from clock jumps */
                if (rtt < 65536 * 10) {
                    st->rtt = (ngx_uint_t) rtt * 1000 / 65536;
                }
            }
        }
    }
}


/* a lost packet and the 16 after it (bitmask), answered from the ring */

static void
ngx_webrtc_viewer_nack(void *data, uint32_t media_ssrc, uint16_t pid,
    uint16_t blp)
{
    uint16_t                  seq;
    uint32_t                  idx;
    ngx_uint_t                i, k;
    ngx_webrtc_track_t       *t;
    ngx_webrtc_session_t     *s;
    ngx_msec_t                now;
    ngx_webrtc_viewer_t      *v;
    ngx_webrtc_resent_t      *r;
    ngx_webrtc_nack_ctx_t    *ctx;
    ngx_webrtc_stream_t      *st;
    ngx_webrtc_slot_t         slot;

    ctx = data;
    s = ctx->session;
    st = s->st;
    v = s->ctx;

    if (st == NULL) {
        return;
    }

    now = ngx_current_msec;

    if (now - v->nack_second >= 1000) {
        v->nack_second = now;
        v->nack_budget = NGX_WEBRTC_NACK_RATE;
    }

    t = NULL;

    for (i = 0; i < s->ntracks; i++) {
        if (s->tracks[i].out_ssrc == media_ssrc) {
            t = &s->tracks[i];
        }
    }

    if (t == NULL) {
        return;
    }

    k = (t->kind == NGX_WEBRTC_MEDIA_AUDIO) ? 0 : t->stream_track;

    for (i = 0; i < 17; i++) {
        if (i && !(blp & (1 << (i - 1)))) {
            continue;
        }

        if (ctx->count++ >= NGX_WEBRTC_NACK_MAX) {
            return;
        }

        if (v->nack_budget == 0) {
            s->shm->tracks[t - s->tracks].nacks_refused++;
            continue;
        }

        /* the viewer's numbering back to the stream's */
        seq = (uint16_t) (pid + i - (uint16_t) t->out.off);
        idx = st->tracks[k].seq_map[seq & NGX_WEBRTC_RING_MASK];

        if (ngx_webrtc_ring_read(&st->ring, idx, &slot) != NGX_OK
            || slot.track != k || (uint16_t) slot.seq != seq
            || st->ring.write_idx - slot.idx > NGX_WEBRTC_RING_SLOTS)
        {
            continue;
        }

        r = &v->resent[slot.idx & (NGX_WEBRTC_RESENT - 1)];

        if (r->idx == slot.idx && now - r->at < NGX_WEBRTC_RESEND_GAP) {
            s->shm->tracks[t - s->tracks].nacks_refused++;
            continue;
        }

        v->nack_budget--;
        r->idx = slot.idx;
        r->at = now;

        ngx_webrtc_viewer_send(s, &slot, 1);
        s->shm->tracks[t - s->tracks].nacks++;
    }
}


/* sender reports, so that players can sync audio and video */

static void
ngx_webrtc_viewer_report(ngx_webrtc_session_t *s)
{
    size_t                    len;
    uint32_t                  ts;
    uint64_t                  ntp;
    ngx_uint_t                i, k;
    ngx_msec_t                now;
    ngx_webrtc_track_t       *t;
    ngx_webrtc_viewer_t      *v;
    ngx_webrtc_stream_t      *st;
    ngx_webrtc_stream_track_t *sk;
    u_char                    buf[128];

    st = s->st;

    if (st == NULL || !s->srtp.ready) {
        return;
    }

    v = s->ctx;

    /* a lost wake-up datagram must not stall the group for long */
    ngx_webrtc_stream_rearm(&v->group->reader);
    ngx_webrtc_group_pump(v->group, 0);
    ngx_webrtc_udp_batch_flush(ngx_webrtc_worker->udp);

    ngx_webrtc_viewer_adapt(s);

    ntp = ngx_webrtc_ntp_now();
    now = ngx_current_msec;

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];

        if (t->sent_packets == 0) {
            continue;
        }

        k = (t->kind == NGX_WEBRTC_MEDIA_AUDIO) ? 0 : t->stream_track;
        sk = &st->tracks[k];

        /* the stream's clock now, from its last packet */
        ts = sk->last_ts + (uint32_t) ((uint64_t) (now - sk->last_msec)
                                       * sk->clock_rate / 1000)
             + t->ts_off;

        len = ngx_webrtc_rtcp_write_sr(buf, sizeof(buf) - 64, t->out_ssrc,
                                       ntp, ts, t->sent_packets,
                                       t->sent_octets);
        if (len == 0) {
            continue;
        }

        if (ngx_webrtc_srtcp_protect(&s->srtp, buf, &len) != NGX_OK) {
            continue;
        }

        (void) ngx_webrtc_session_send(s, buf, len);
    }
}


static uint64_t
ngx_webrtc_ntp_now(void)
{
    struct timeval  tv;

    ngx_gettimeofday(&tv);

    /* seconds since 1900, and the fraction in 1/2^32 */
    return ((uint64_t) (tv.tv_sec + 2208988800UL) << 32)
           | (((uint64_t) tv.tv_usec << 32) / 1000000);
}
