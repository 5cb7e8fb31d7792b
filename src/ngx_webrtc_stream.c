
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc.h"

#include <netinet/udp.h>


/*
 * Fan-out.  The publisher's worker writes each RTP payload once into the
 * stream's ring in shared memory, renumbered into the stream's own
 * sequence and timestamp space (continuous across publishers).  The
 * viewers of a stream in one worker form a group that reads the ring
 * with one cursor; other workers are woken by a datagram on their media
 * port, at most one per batch of received packets and only when they
 * asked for it (armed).  Each viewer gets its own SSRC, payload type and
 * offsets; packets are SRTP-protected per viewer and sent with
 * sendmmsg().  A new viewer starts with the packets since the last
 * keyframe, so that the first picture needs no new keyframe.
 *
 * Packets are read from the ring first and then sent viewer by viewer, so
 * that one viewer's consecutive packets of one size (a video frame's
 * fragments) leave as one UDP GSO message (UDP_SEGMENT): the kernel walks
 * its stack once per message instead of once per packet.  Where GSO is
 * refused (an interface without checksum offload), the worker falls back
 * to one datagram per message for good.
 */


#define NGX_WEBRTC_BATCH         64     /* messages per sendmmsg() */
#define NGX_WEBRTC_GSO_SEGS      16     /* packets per message */
#define NGX_WEBRTC_BATCH_DATA    (256 * 1024)
#define NGX_WEBRTC_PUMP_SLOTS    32     /* ring slots read per round */
#define NGX_WEBRTC_PKT_MAX       (12 + NGX_WEBRTC_SLOT_DATA + 16 + 16)
#define NGX_WEBRTC_RING_MASK     (NGX_WEBRTC_RING_SLOTS - 1)
#define NGX_WEBRTC_NO_KEYFRAME   ((uint64_t) -1)
#define NGX_WEBRTC_NACK_MAX      64

#ifndef UDP_SEGMENT
#define UDP_SEGMENT              103
#endif


typedef union {
    struct cmsghdr              align;
    u_char                      buf[CMSG_SPACE(sizeof(uint16_t))];
} ngx_webrtc_gso_cmsg_t;


typedef struct {
    struct mmsghdr              msgs[NGX_WEBRTC_BATCH];
    struct iovec                iovs[NGX_WEBRTC_BATCH];
    ngx_webrtc_gso_cmsg_t       cmsgs[NGX_WEBRTC_BATCH];
    uint16_t                    segs[NGX_WEBRTC_BATCH];
    uint16_t                    seg_size[NGX_WEBRTC_BATCH];
    ngx_uint_t                  n;

    /* the last message takes more packets of its size from its viewer */
    ngx_webrtc_session_t       *last;
    unsigned                    last_open:1;
    unsigned                    no_gso:1;

    u_char                     *tail;
    u_char                      data[NGX_WEBRTC_BATCH_DATA];
} ngx_webrtc_batch_t;


static ngx_int_t ngx_webrtc_stream_init_locked(ngx_slab_pool_t *shpool,
    ngx_webrtc_shm_stream_t *st);
static ngx_webrtc_group_t *ngx_webrtc_group_get(ngx_webrtc_shm_stream_t *st);
static void ngx_webrtc_group_pump(ngx_webrtc_group_t *g,
    ngx_uint_t may_close);
static ngx_int_t ngx_webrtc_slot_read(ngx_webrtc_shm_stream_t *st,
    uint64_t idx, ngx_webrtc_slot_t *copy);
static void ngx_webrtc_viewer_send(ngx_webrtc_session_t *s,
    ngx_webrtc_slot_t *slot, ngx_uint_t resend);
static void ngx_webrtc_group_close(ngx_webrtc_group_t *g);
static void ngx_webrtc_replay_handler(ngx_event_t *ev);
static void ngx_webrtc_batch_add(ngx_webrtc_session_t *s, u_char *p,
    size_t len);
static void ngx_webrtc_batch_flush(void);
static ngx_int_t ngx_webrtc_batch_send_split(ngx_webrtc_batch_t *b,
    ngx_uint_t i);
static void ngx_webrtc_viewer_nack(void *data, uint32_t media_ssrc,
    uint16_t pid, uint16_t blp);
static uint64_t ngx_webrtc_ntp_now(void);


static ngx_webrtc_batch_t  ngx_webrtc_batch;
static ngx_webrtc_slot_t   ngx_webrtc_pump_slots[NGX_WEBRTC_PUMP_SLOTS];


ngx_webrtc_shm_stream_t *
ngx_webrtc_stream_acquire(ngx_str_t *name, ngx_uint_t create)
{
    ngx_queue_t              *q;
    ngx_slab_pool_t          *shpool;
    ngx_webrtc_shm_t         *sh;
    ngx_webrtc_shm_stream_t  *st;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    ngx_shmtx_lock(&shpool->mutex);

    for (q = ngx_queue_head(&sh->streams);
         q != ngx_queue_sentinel(&sh->streams);
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_webrtc_shm_stream_t, queue);

        if (st->name_len == name->len
            && ngx_memcmp(st->name, name->data, name->len) == 0)
        {
            st->refs++;
            ngx_shmtx_unlock(&shpool->mutex);
            return st;
        }
    }

    if (!create) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NULL;
    }

    st = ngx_slab_calloc_locked(shpool, sizeof(ngx_webrtc_shm_stream_t));
    if (st == NULL) {
        goto nomem;
    }

    if (ngx_webrtc_stream_init_locked(shpool, st) != NGX_OK) {
        ngx_slab_free_locked(shpool, st);
        goto nomem;
    }

    ngx_memcpy(st->name, name->data, name->len);
    st->name_len = name->len;
    st->refs = 1;

    ngx_queue_insert_tail(&sh->streams, &st->queue);

    ngx_shmtx_unlock(&shpool->mutex);

    return st;

nomem:

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_log_error(NGX_LOG_ERR, ngx_webrtc_worker->log, 0,
                  "webrtc: shared memory is full, "
                  "increase \"webrtc_zone_size\"");
    return NULL;
}


static ngx_int_t
ngx_webrtc_stream_init_locked(ngx_slab_pool_t *shpool,
    ngx_webrtc_shm_stream_t *st)
{
    ngx_uint_t  i;

    st->slots = ngx_slab_alloc_locked(shpool, NGX_WEBRTC_RING_SLOTS
                                              * sizeof(ngx_webrtc_slot_t));
    if (st->slots == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_WEBRTC_RING_SLOTS; i++) {
        st->slots[i].idx = NGX_WEBRTC_NO_KEYFRAME;
    }

    st->keyframe_idx = NGX_WEBRTC_NO_KEYFRAME;

    /* the message ring comes with the first message or event stream */

    return NGX_OK;
}


void
ngx_webrtc_stream_release(ngx_webrtc_shm_stream_t *st)
{
    ngx_slab_pool_t  *shpool;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    if (--st->refs == 0) {
        ngx_queue_remove(&st->queue);
        if (st->dring) {
            ngx_slab_free_locked(shpool, st->dring);
        }

        ngx_slab_free_locked(shpool, st->slots);
        ngx_slab_free_locked(shpool, st);
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/* the publisher's tracks become the stream's; numbering stays continuous */

ngx_int_t
ngx_webrtc_stream_publish(ngx_webrtc_session_t *s)
{
    ngx_uint_t                i;
    ngx_slab_pool_t          *shpool;
    ngx_webrtc_track_t       *t;
    ngx_webrtc_shm_stream_t  *st;
    ngx_webrtc_shm_strack_t  *sk;

    st = ngx_webrtc_stream_acquire(&s->stream, 1);
    if (st == NULL) {
        return NGX_ERROR;
    }

    s->st = st;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_WEBRTC_MAX_TRACKS; i++) {
        st->tracks[i].kind = 0;
    }

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];
        sk = &st->tracks[t->kind == NGX_WEBRTC_MEDIA_AUDIO ? 0 : 1];

        sk->kind = t->kind;
        sk->codec = t->codec;
        sk->clock_rate = t->clock_rate;
        sk->channels = t->channels;
        sk->fmtp_len = ngx_min(t->fmtp.len, NGX_WEBRTC_FMTP_MAX);
        ngx_memcpy(sk->fmtp, t->fmtp.data, sk->fmtp_len);
        sk->has_profile = 0;

        /* the next packet is from a new source: renumber from it */
        sk->pub_ssrc = 0;
    }

    st->pub_pid = ngx_pid;
    st->close_viewers = 0;
    st->pub_port = ngx_webrtc_worker->port;
    ngx_memcpy(st->pub_id, s->id, NGX_WEBRTC_ID_LEN);

    /* a new publisher's first keyframe starts the GOP cache anew */
    st->keyframe_idx = NGX_WEBRTC_NO_KEYFRAME;

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


void
ngx_webrtc_stream_unpublish(ngx_webrtc_session_t *s)
{
    ngx_uint_t                 i, close;
    ngx_queue_t               *q, *next;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_group_t        *g;
    ngx_webrtc_worker_t       *w;
    ngx_webrtc_shm_stream_t   *st;
    ngx_webrtc_shm_sworker_t  *sw;

    st = s->st;
    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    close = 0;

    if (st->pub_pid == ngx_pid
        && ngx_memcmp(st->pub_id, s->id, NGX_WEBRTC_ID_LEN) == 0)
    {
        st->pub_pid = 0;
        st->close_viewers = s->close_viewers;
        close = s->close_viewers;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (close) {
        /* webrtc_viewers_follow off: every worker ends its viewers */
        w = ngx_webrtc_worker;

        for (i = 0; i < NGX_WEBRTC_STREAM_WORKERS; i++) {
            sw = &st->workers[i];

            if (sw->viewers && sw->pid && sw->pid != ngx_pid) {
                (void) ngx_webrtc_ctl_send(sw->port, NGX_WEBRTC_CTL_WAKE,
                                           s->id);
            }
        }

        for (q = ngx_queue_head(&w->groups);
             q != ngx_queue_sentinel(&w->groups);
             q = next)
        {
            next = ngx_queue_next(q);
            g = ngx_queue_data(q, ngx_webrtc_group_t, queue);

            if (g->st == st) {
                ngx_webrtc_group_close(g);
            }
        }
    }

    s->st = NULL;
    ngx_webrtc_stream_release(st);
}


static void
ngx_webrtc_group_close(ngx_webrtc_group_t *g)
{
    ngx_uint_t             n;
    ngx_queue_t           *q;
    ngx_webrtc_session_t  *s;

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
        s = ngx_queue_data(q, ngx_webrtc_session_t, group_queue);
        ngx_webrtc_session_close(s, "publisher gone");
    }
}


/*
 * One packet of the publisher into the ring.  Sequence numbers and
 * timestamps are moved into the stream's space: a new source continues
 * where the last one ended, so viewers see one continuous stream.
 */

void
ngx_webrtc_stream_write(ngx_webrtc_session_t *s, ngx_webrtc_track_t *t,
    ngx_webrtc_rtp_t *rtp, ngx_uint_t keyframe)
{
    size_t                    len;
    uint16_t                  seq;
    uint32_t                  ts;
    uint64_t                  idx;
    ngx_uint_t                i, k;
    ngx_msec_t                now;
    ngx_webrtc_slot_t        *slot;
    ngx_webrtc_worker_t      *w;
    ngx_webrtc_shm_stream_t  *st;
    ngx_webrtc_shm_strack_t  *sk;

    st = s->st;

    if (st == NULL || st->pub_pid != ngx_pid
        || rtp->payload_len > NGX_WEBRTC_SLOT_DATA)
    {
        return;
    }

    k = (t->kind == NGX_WEBRTC_MEDIA_AUDIO) ? 0 : 1;
    sk = &st->tracks[k];
    now = ngx_current_msec;

    if (sk->pub_ssrc != rtp->ssrc || !sk->started) {
        if (sk->started) {
            sk->ts_off = sk->last_ts
                         + (uint32_t) ((uint64_t) (now - sk->last_msec)
                                       * sk->clock_rate / 1000)
                         + 1 - rtp->ts;
            sk->seq_off = (uint16_t) (sk->next_seq - rtp->seq);

        } else {
            sk->ts_off = 0;
            sk->seq_off = 0;
            sk->started = 1;
        }

        sk->pub_ssrc = rtp->ssrc;
    }

    seq = (uint16_t) (rtp->seq + sk->seq_off);
    ts = rtp->ts + sk->ts_off;

    if ((int16_t) (seq - sk->next_seq) >= 0) {
        sk->next_seq = (uint16_t) (seq + 1);
        sk->last_ts = ts;
        sk->last_msec = now;
    }

    if (keyframe && t->codec == NGX_WEBRTC_CODEC_H264 && !sk->has_profile
        && ngx_webrtc_h264_profile(rtp->payload, rtp->payload_len,
                                   sk->profile)
           == NGX_WEBRTC_PARSE_OK)
    {
        sk->has_profile = 1;
    }

    idx = st->write_idx;
    slot = &st->slots[idx & NGX_WEBRTC_RING_MASK];

    /* a seqlock: readers check idx before and after copying */
    slot->idx = NGX_WEBRTC_NO_KEYFRAME;
    ngx_memory_barrier();

    len = rtp->payload_len;

    slot->ts = ts;
    slot->seq = seq;
    slot->len = (uint16_t) len;
    slot->track = (uint8_t) k;
    slot->marker = rtp->marker;
    slot->keyframe = (uint8_t) keyframe;
    ngx_memcpy(slot->data, rtp->payload, len);

    ngx_memory_barrier();
    slot->idx = idx;

    sk->seq_map[seq & NGX_WEBRTC_RING_MASK] = (uint32_t) idx;

    if (keyframe) {
        st->keyframe_idx = idx;
    }

    ngx_memory_barrier();
    st->write_idx = idx + 1;

    w = ngx_webrtc_worker;

    for (i = 0; i < w->ndirty; i++) {
        if (w->dirty[i] == st) {
            return;
        }
    }

    if (w->ndirty < sizeof(w->dirty) / sizeof(w->dirty[0])) {
        w->dirty[w->ndirty++] = st;

    } else {
        ngx_webrtc_stream_flush(w);
        w->dirty[w->ndirty++] = st;
    }
}


/*
 * After a batch of received packets: local viewers get theirs now, other
 * workers with viewers that asked for a wake-up get one datagram each.
 */

void
ngx_webrtc_stream_flush(ngx_webrtc_worker_t *w)
{
    ngx_uint_t                 i, j;
    ngx_queue_t               *q, *next;
    ngx_webrtc_group_t        *g;
    ngx_webrtc_shm_stream_t   *st;
    ngx_webrtc_shm_sworker_t  *sw;

    for (i = 0; i < w->ndirty; i++) {
        st = w->dirty[i];

        for (q = ngx_queue_head(&w->groups);
             q != ngx_queue_sentinel(&w->groups);
             q = next)
        {
            next = ngx_queue_next(q);
            g = ngx_queue_data(q, ngx_webrtc_group_t, queue);

            if (g->st == st) {
                ngx_webrtc_group_pump(g, 1);
            }
        }

        for (j = 0; j < NGX_WEBRTC_STREAM_WORKERS; j++) {
            sw = &st->workers[j];

            if (sw->viewers == 0 || sw->pid == ngx_pid || sw->pid == 0) {
                continue;
            }

            if (ngx_atomic_cmp_set(&sw->armed, 1, 0)) {
                (void) ngx_webrtc_ctl_send(sw->port, NGX_WEBRTC_CTL_WAKE,
                                           st->pub_id);
            }
        }
    }

    w->ndirty = 0;

    ngx_webrtc_batch_flush();
}


/* a wake-up from a publisher's worker: read every group's new packets */

void
ngx_webrtc_stream_wake(ngx_webrtc_worker_t *w)
{
    ngx_queue_t         *q, *next;
    ngx_webrtc_group_t  *g;

    for (q = ngx_queue_head(&w->groups);
         q != ngx_queue_sentinel(&w->groups);
         q = next)
    {
        next = ngx_queue_next(q);
        g = ngx_queue_data(q, ngx_webrtc_group_t, queue);

        /* armed first: a packet written from now on wakes us again */
        ngx_atomic_cmp_set(&g->st->workers[g->slot].armed, 0, 1);

        ngx_webrtc_group_pump(g, 1);
    }

    ngx_webrtc_batch_flush();

    ngx_webrtc_data_pump(w);
}


static void
ngx_webrtc_group_pump(ngx_webrtc_group_t *g, ngx_uint_t may_close)
{
    uint64_t                  end;
    ngx_uint_t                i, n;
    ngx_queue_t              *q;
    ngx_webrtc_slot_t        *slots;
    ngx_webrtc_session_t     *s;
    ngx_webrtc_shm_stream_t  *st;

    st = g->st;

    if (st->pub_pid == 0 && st->close_viewers) {
        if (may_close) {
            ngx_webrtc_group_close(g);
        }

        return;
    }

    end = st->write_idx;
    ngx_memory_barrier();

    if (end - g->cursor > NGX_WEBRTC_RING_SLOTS) {
        /* this worker fell a whole ring behind: skip to what is there */
        g->cursor = end - NGX_WEBRTC_RING_SLOTS / 2;
    }

    slots = ngx_webrtc_pump_slots;

    while (g->cursor < end) {

        for (n = 0;
             n < NGX_WEBRTC_PUMP_SLOTS && g->cursor < end;
             g->cursor++)
        {
            if (ngx_webrtc_slot_read(st, g->cursor, &slots[n]) == NGX_OK) {
                n++;
            }
        }

        for (q = ngx_queue_head(&g->viewers);
             q != ngx_queue_sentinel(&g->viewers);
             q = ngx_queue_next(q))
        {
            s = ngx_queue_data(q, ngx_webrtc_session_t, group_queue);

            if (!s->dtls_done || s->replaying) {
                continue;
            }

            for (i = 0; i < n; i++) {
                ngx_webrtc_viewer_send(s, &slots[i], 0);
            }
        }
    }
}


static ngx_int_t
ngx_webrtc_slot_read(ngx_webrtc_shm_stream_t *st, uint64_t idx,
    ngx_webrtc_slot_t *copy)
{
    size_t              len;
    ngx_webrtc_slot_t  *slot;

    slot = &st->slots[idx & NGX_WEBRTC_RING_MASK];

    if (slot->idx != idx) {
        return NGX_DECLINED;
    }

    ngx_memory_barrier();

    len = ngx_min(slot->len, NGX_WEBRTC_SLOT_DATA);

    copy->ts = slot->ts;
    copy->seq = slot->seq;
    copy->len = (uint16_t) len;
    copy->track = slot->track;
    copy->marker = slot->marker;
    copy->keyframe = slot->keyframe;
    ngx_memcpy(copy->data, slot->data, len);

    ngx_memory_barrier();

    if (slot->idx != idx || copy->track >= NGX_WEBRTC_MAX_TRACKS) {
        return NGX_DECLINED;
    }

    copy->idx = idx;

    return NGX_OK;
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
    u_char                  *p;
    ssize_t                  len;
    uint16_t                 seq;
    uint32_t                 ts;
    ngx_webrtc_track_t      *t;
    ngx_webrtc_batch_t      *b;
    ngx_webrtc_shm_track_t  *st;

    t = ngx_webrtc_viewer_track(s, slot->track);
    if (t == NULL) {
        return;
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
        t->seq_off = (uint16_t) ((t->seq_off & 0x7fff) - slot->seq);
        t->started = 1;
    }

    seq = (uint16_t) (slot->seq + t->seq_off);
    ts = slot->ts + t->ts_off;

    st = &s->shm->tracks[t - s->tracks];

    if (!resend) {
        t->sent_packets++;
        t->sent_octets += slot->len;

        st->packets++;
        st->bytes += slot->len;

        /* webrtc_debug_drop: loss on the way to viewers, for tests */
        if (ngx_webrtc_worker->wmcf->debug_drop
            && (ngx_uint_t) (ngx_random() % 100)
               < ngx_webrtc_worker->wmcf->debug_drop)
        {
            return;
        }
    }

    b = &ngx_webrtc_batch;

    if (b->n == NGX_WEBRTC_BATCH
        || b->tail + NGX_WEBRTC_PKT_MAX > b->data + NGX_WEBRTC_BATCH_DATA)
    {
        ngx_webrtc_batch_flush();
    }

    p = b->tail;

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

    len = ngx_webrtc_srtp_protect(s, t, p, slot->data, slot->len);
    if (len < 0) {
        return;
    }

    ngx_webrtc_batch_add(s, p, len);
}


/*
 * The packet at the batch's tail joins the last message if that is the
 * same viewer's and the packet is of the message's segment size, or
 * smaller (then it ends the message, as GSO allows for the last segment).
 */

static void
ngx_webrtc_batch_add(ngx_webrtc_session_t *s, u_char *p, size_t len)
{
    ngx_uint_t           i;
    struct msghdr       *mh;
    ngx_webrtc_batch_t  *b;

    b = &ngx_webrtc_batch;

    b->tail = p + len;

    if (b->n && b->last == s && b->last_open) {
        i = b->n - 1;

        if (len <= b->seg_size[i]) {
            b->iovs[i].iov_len += len;
            b->segs[i]++;

            if (len < b->seg_size[i] || b->segs[i] == NGX_WEBRTC_GSO_SEGS) {
                b->last_open = 0;
            }

            return;
        }
    }

    i = b->n++;

    b->iovs[i].iov_base = p;
    b->iovs[i].iov_len = len;
    b->segs[i] = 1;
    b->seg_size[i] = (uint16_t) len;

    mh = &b->msgs[i].msg_hdr;
    mh->msg_name = &s->peer;
    mh->msg_namelen = s->peer_len;
    mh->msg_iov = &b->iovs[i];
    mh->msg_iovlen = 1;
    mh->msg_control = NULL;
    mh->msg_controllen = 0;
    mh->msg_flags = 0;

    b->last = s;
    b->last_open = !b->no_gso;
}


static void
ngx_webrtc_batch_flush(void)
{
    int                   n;
    ngx_err_t             err;
    ngx_uint_t            i, sent;
    struct cmsghdr       *cm;
    ngx_webrtc_batch_t   *b;
    ngx_webrtc_worker_t  *w;

    b = &ngx_webrtc_batch;
    w = ngx_webrtc_worker;

    for (i = 0; i < b->n; i++) {
        if (b->segs[i] > 1) {
            b->msgs[i].msg_hdr.msg_control = b->cmsgs[i].buf;
            b->msgs[i].msg_hdr.msg_controllen = sizeof(b->cmsgs[i].buf);

            cm = CMSG_FIRSTHDR(&b->msgs[i].msg_hdr);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            ngx_memcpy(CMSG_DATA(cm), &b->seg_size[i], sizeof(uint16_t));
        }
    }

    for (sent = 0; sent < b->n; /* void */) {
        n = sendmmsg(w->udp->fd, &b->msgs[sent], b->n - sent, 0);

        if (n > 0) {
            sent += n;
            continue;
        }

        err = ngx_socket_errno;

        if (b->segs[sent] > 1
            && (err == EIO || err == NGX_EINVAL || err == EMSGSIZE))
        {
            /*
             * the kernel or the route's interface refuses GSO (no checksum
             * offload, or segments larger than the interface's MTU)
             */

            if (!b->no_gso) {
                ngx_log_error(NGX_LOG_NOTICE, w->log, err,
                              "webrtc: UDP GSO refused, sending packets "
                              "one by one from now on");
                b->no_gso = 1;
            }

            if (ngx_webrtc_batch_send_split(b, sent) == NGX_OK) {
                sent++;
                continue;
            }
        }

        /* a full socket buffer: the rest is lost, NACKs recover it */
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, w->log, err,
                       "webrtc: sendmmsg() dropped %ui messages",
                       b->n - sent);
        break;
    }

    b->n = 0;
    b->last = NULL;
    b->tail = b->data;
}


/* one message's packets as datagrams of their own */

static ngx_int_t
ngx_webrtc_batch_send_split(ngx_webrtc_batch_t *b, ngx_uint_t i)
{
    int             n;
    u_char         *p, *end;
    ngx_uint_t      k;
    struct iovec    iovs[NGX_WEBRTC_GSO_SEGS];
    struct mmsghdr  msgs[NGX_WEBRTC_GSO_SEGS];

    p = b->iovs[i].iov_base;
    end = p + b->iovs[i].iov_len;

    for (k = 0; p < end && k < NGX_WEBRTC_GSO_SEGS; k++) {
        iovs[k].iov_base = p;
        iovs[k].iov_len = ngx_min((size_t) (end - p), b->seg_size[i]);
        p += iovs[k].iov_len;

        msgs[k].msg_hdr = b->msgs[i].msg_hdr;
        msgs[k].msg_hdr.msg_iov = &iovs[k];
        msgs[k].msg_hdr.msg_control = NULL;
        msgs[k].msg_hdr.msg_controllen = 0;
    }

    n = sendmmsg(ngx_webrtc_worker->udp->fd, msgs, k, 0);

    return (n > 0) ? NGX_OK : NGX_ERROR;
}


/* a reader of the stream in this worker: a viewer or an event stream */

ngx_webrtc_group_t *
ngx_webrtc_stream_group_ref(ngx_webrtc_shm_stream_t *st)
{
    ngx_webrtc_group_t  *g;

    g = ngx_webrtc_group_get(st);

    if (g) {
        g->nviewers++;
    }

    return g;
}


void
ngx_webrtc_stream_group_unref(ngx_webrtc_group_t *g)
{
    ngx_slab_pool_t  *shpool;

    if (--g->nviewers) {
        return;
    }

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);
    g->st->workers[g->slot].viewers = 0;
    g->st->workers[g->slot].pid = 0;
    ngx_shmtx_unlock(&shpool->mutex);

    ngx_queue_remove(&g->queue);
    ngx_free(g);
}


/* a viewer session joins its worker's group of the stream */

void
ngx_webrtc_stream_init_worker(ngx_webrtc_worker_t *w)
{
    ngx_queue_init(&w->replays);

    ngx_webrtc_batch.tail = ngx_webrtc_batch.data;

    w->replay_event.handler = ngx_webrtc_replay_handler;
    w->replay_event.data = w;
    w->replay_event.log = w->log;
}


ngx_int_t
ngx_webrtc_viewer_join(ngx_webrtc_session_t *s)
{
    ngx_slab_pool_t     *shpool;
    ngx_webrtc_group_t  *g;

    g = ngx_webrtc_stream_group_ref(s->st);
    if (g == NULL) {
        return NGX_ERROR;
    }

    s->group = g;
    ngx_queue_insert_tail(&g->viewers, &s->group_queue);

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);
    s->st->viewers++;
    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


static ngx_webrtc_group_t *
ngx_webrtc_group_get(ngx_webrtc_shm_stream_t *st)
{
    ngx_uint_t                 i, free;
    ngx_queue_t               *q;
    ngx_slab_pool_t           *shpool;
    ngx_webrtc_group_t        *g;
    ngx_webrtc_worker_t       *w;
    ngx_webrtc_shm_sworker_t  *sw;

    w = ngx_webrtc_worker;

    for (q = ngx_queue_head(&w->groups);
         q != ngx_queue_sentinel(&w->groups);
         q = ngx_queue_next(q))
    {
        g = ngx_queue_data(q, ngx_webrtc_group_t, queue);

        if (g->st == st) {
            return g;
        }
    }

    shpool = w->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    free = NGX_WEBRTC_STREAM_WORKERS;

    for (i = 0; i < NGX_WEBRTC_STREAM_WORKERS; i++) {
        sw = &st->workers[i];

        if (sw->pid == ngx_pid) {
            free = i;
            break;
        }

        if (free == NGX_WEBRTC_STREAM_WORKERS
            && (sw->pid == 0 || sw->viewers == 0
                || (kill(sw->pid, 0) == -1 && ngx_errno == NGX_ESRCH)))
        {
            free = i;
        }
    }

    if (free == NGX_WEBRTC_STREAM_WORKERS) {
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "webrtc: too many workers serve one stream");
        return NULL;
    }

    g = ngx_calloc(sizeof(ngx_webrtc_group_t), w->log);
    if (g == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NULL;
    }

    sw = &st->workers[free];
    sw->pid = ngx_pid;
    sw->port = w->port;
    sw->viewers = 1;
    sw->armed = 1;

    ngx_shmtx_unlock(&shpool->mutex);

    g->st = st;
    g->slot = free;
    g->cursor = st->write_idx;
    ngx_queue_init(&g->viewers);
    ngx_queue_insert_tail(&w->groups, &g->queue);

    return g;
}


void
ngx_webrtc_viewer_leave(ngx_webrtc_session_t *s)
{
    ngx_slab_pool_t     *shpool;
    ngx_webrtc_group_t  *g;

    ngx_webrtc_viewer_replay_stop(s);

    g = s->group;
    shpool = ngx_webrtc_worker->shm->shpool;

    if (g) {
        ngx_queue_remove(&s->group_queue);
        s->group = NULL;

        ngx_shmtx_lock(&shpool->mutex);
        g->st->viewers--;
        ngx_shmtx_unlock(&shpool->mutex);

        ngx_webrtc_stream_group_unref(g);
    }

    if (s->st) {
        ngx_webrtc_stream_release(s->st);
        s->st = NULL;
    }
}


/*
 * DTLS is up: the viewer gets the packets since the last keyframe (video
 * only; old audio would only be dropped by the player), then joins its
 * group live.  The replay is paced, a batch per event loop turn, so that
 * many joining viewers do not starve the socket of the publishers.
 */

#define NGX_WEBRTC_REPLAY_BATCH  NGX_WEBRTC_BATCH


void
ngx_webrtc_viewer_start(ngx_webrtc_session_t *s)
{
    uint64_t              idx;
    ngx_webrtc_worker_t  *w;

    if (s->group == NULL || s->st == NULL) {
        return;
    }

    idx = s->st->keyframe_idx;
    ngx_memory_barrier();

    if (idx == NGX_WEBRTC_NO_KEYFRAME || idx >= s->group->cursor
        || s->group->cursor - idx >= NGX_WEBRTC_RING_SLOTS)
    {
        /* no keyframe cached: ask the publisher for one */
        ngx_webrtc_stream_keyframe_request(s->st);
        return;
    }

    w = ngx_webrtc_worker;

    s->replay_idx = idx;
    s->replaying = 1;
    ngx_queue_insert_tail(&w->replays, &s->replay_queue);

    ngx_webrtc_replay_handler(&w->replay_event);
}


static void
ngx_webrtc_replay_handler(ngx_event_t *ev)
{
    uint64_t               end;
    ngx_uint_t             n;
    ngx_queue_t           *q, *next;
    ngx_webrtc_worker_t   *w;
    ngx_webrtc_session_t  *s;
    ngx_webrtc_slot_t      slot;

    w = ngx_webrtc_worker;

    for (q = ngx_queue_head(&w->replays);
         q != ngx_queue_sentinel(&w->replays);
         q = next)
    {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, ngx_webrtc_session_t, replay_queue);

        end = s->group->cursor;

        if (end - s->replay_idx > NGX_WEBRTC_RING_SLOTS) {
            s->replay_idx = end;
        }

        for (n = 0; n < NGX_WEBRTC_REPLAY_BATCH && s->replay_idx < end;
             s->replay_idx++)
        {
            if (ngx_webrtc_slot_read(s->st, s->replay_idx, &slot) != NGX_OK
                || slot.track != 1)
            {
                continue;
            }

            ngx_webrtc_viewer_send(s, &slot, 0);
            n++;
        }

        if (s->replay_idx >= end) {
            /* caught up: live with the group from here */
            s->replaying = 0;
            ngx_queue_remove(&s->replay_queue);
        }
    }

    ngx_webrtc_batch_flush();

    if (!ngx_queue_empty(&w->replays) && !ev->posted) {
        ngx_post_event(ev, &ngx_posted_events);
    }
}


void
ngx_webrtc_viewer_replay_stop(ngx_webrtc_session_t *s)
{
    if (s->replaying) {
        s->replaying = 0;
        ngx_queue_remove(&s->replay_queue);
    }
}


/* PLI/FIR towards the publisher, at most once a second per stream */

void
ngx_webrtc_stream_keyframe_request(ngx_webrtc_shm_stream_t *st)
{
    ngx_pid_t              pid;
    in_port_t              port;
    ngx_msec_t             now;
    ngx_webrtc_session_t  *s;
    u_char                 id[NGX_WEBRTC_ID_LEN];

    now = ngx_current_msec;

    if (now - st->last_keyframe_request < 1000) {
        return;
    }

    st->last_keyframe_request = now;

    pid = st->pub_pid;
    port = st->pub_port;
    ngx_memcpy(id, st->pub_id, NGX_WEBRTC_ID_LEN);

    if (pid == 0) {
        return;
    }

    if (pid == ngx_pid) {
        s = ngx_webrtc_session_find(id);

        if (s) {
            ngx_webrtc_media_request_keyframes(s);
        }

        return;
    }

    (void) ngx_webrtc_ctl_send(port, NGX_WEBRTC_CTL_KEYFRAME, id);
}


typedef struct {
    ngx_webrtc_session_t  *session;
    ngx_uint_t             count;
} ngx_webrtc_nack_ctx_t;


/* RTCP from a viewer: NACK, PLI/FIR, receiver reports */

void
ngx_webrtc_viewer_rtcp(ngx_webrtc_session_t *s, u_char *buf, size_t len)
{
    uint32_t                 now, rtt;
    ngx_uint_t               i, j;
    ngx_webrtc_track_t      *t;
    ngx_webrtc_nack_ctx_t    ctx;
    ngx_webrtc_rtcp_info_t   info;
    ngx_webrtc_shm_track_t  *st;

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
            ngx_webrtc_stream_keyframe_request(s->st);
        }
    }

    if (info.nack_packets) {
        ctx.session = s;
        ctx.count = 0;

        (void) ngx_webrtc_rtcp_nacks(buf, len, NGX_WEBRTC_NACK_MAX,
                                     ngx_webrtc_viewer_nack, &ctx);
        ngx_webrtc_batch_flush();
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
    ngx_webrtc_nack_ctx_t    *ctx;
    ngx_webrtc_shm_stream_t  *st;
    ngx_webrtc_slot_t         slot;

    ctx = data;
    s = ctx->session;
    st = s->st;

    if (st == NULL) {
        return;
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

    k = (t->kind == NGX_WEBRTC_MEDIA_AUDIO) ? 0 : 1;

    for (i = 0; i < 17; i++) {
        if (i && !(blp & (1 << (i - 1)))) {
            continue;
        }

        if (ctx->count++ >= NGX_WEBRTC_NACK_MAX) {
            return;
        }

        /* the viewer's numbering back to the stream's */
        seq = (uint16_t) (pid + i - t->seq_off);
        idx = st->tracks[k].seq_map[seq & NGX_WEBRTC_RING_MASK];

        if (ngx_webrtc_slot_read(st, idx, &slot) != NGX_OK
            || slot.track != k || slot.seq != seq
            || st->write_idx - slot.idx > NGX_WEBRTC_RING_SLOTS)
        {
            continue;
        }

        ngx_webrtc_viewer_send(s, &slot, 1);
        s->shm->tracks[t - s->tracks].nacks++;
    }
}


/* sender reports, so that players can sync audio and video */

void
ngx_webrtc_viewer_report(ngx_webrtc_session_t *s)
{
    size_t                    len;
    uint32_t                  ts;
    uint64_t                  ntp;
    ngx_uint_t                i, k;
    ngx_msec_t                now;
    ngx_webrtc_track_t       *t;
    ngx_webrtc_shm_stream_t  *st;
    ngx_webrtc_shm_strack_t  *sk;
    u_char                    buf[128];

    st = s->st;

    if (st == NULL || !s->srtp_ready) {
        return;
    }

    if (s->group) {
        /* a lost wake-up datagram must not stall the group for long */
        ngx_atomic_cmp_set(&st->workers[s->group->slot].armed, 0, 1);
        ngx_webrtc_group_pump(s->group, 0);
        ngx_webrtc_batch_flush();
    }

    ntp = ngx_webrtc_ntp_now();
    now = ngx_current_msec;

    for (i = 0; i < s->ntracks; i++) {
        t = &s->tracks[i];

        if (t->sent_packets == 0) {
            continue;
        }

        k = (t->kind == NGX_WEBRTC_MEDIA_AUDIO) ? 0 : 1;
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

        if (ngx_webrtc_srtcp_protect(s, buf, &len) != NGX_OK) {
            continue;
        }

        (void) ngx_webrtc_send(s, buf, len);
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
