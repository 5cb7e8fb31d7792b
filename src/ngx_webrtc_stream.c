
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_stream.h"
#include "ngx_webrtc_registry.h"
#include "ngx_webrtc_udp.h"


/*
 * The publisher's worker writes each RTP payload once into the stream's
 * ring, renumbered into the stream's own sequence and timestamp space
 * (continuous across publishers).  The readers of a stream in one worker
 * share an entry and a slot in the stream's record; after a batch of
 * received packets, this worker's readers of the streams written are
 * called, and other workers with readers that asked for it (armed) get
 * one wake datagram each.  Messages wake every worker with readers.
 */


#define NGX_WEBRTC_DIRTY_MAX  8

/*
 * Streams freed are kept, with their packet rings, for the next streams
 * created: a ring is 700 contiguous pages of the zone, and the slab
 * allocator gives the first page of a freed run to the next small
 * allocation (a session record), so that rings freed and allocated
 * while sessions come and go leave holes no ring fits in, and a zone
 * with a few streams refuses publishers (503).
 */
#define NGX_WEBRTC_STREAM_SPARES  8


typedef struct ngx_webrtc_stream_local_s {
    ngx_queue_t                 queue;
    ngx_webrtc_stream_t        *st;
    ngx_uint_t                  slot;         /* in st->workers */
    ngx_queue_t                 readers;
    ngx_uint_t                  nreaders;
    ngx_queue_t                *next;         /* of notify(), while busy */
    unsigned                    busy:1;
} ngx_webrtc_stream_local_t;


static ngx_webrtc_stream_local_t *ngx_webrtc_stream_local(
    ngx_webrtc_stream_t *st);
static void ngx_webrtc_stream_local_free(ngx_webrtc_stream_local_t *l);
static ngx_webrtc_stream_worker_t *ngx_webrtc_stream_slot_locked(
    ngx_webrtc_stream_t *st, ngx_uint_t take);
static void ngx_webrtc_stream_slot_unused_locked(
    ngx_webrtc_stream_worker_t *sw);
static void ngx_webrtc_stream_slot_dead_locked(ngx_webrtc_stream_t *st,
    ngx_webrtc_stream_worker_t *sw);
static void ngx_webrtc_stream_free_locked(ngx_slab_pool_t *shpool,
    ngx_webrtc_stream_t *st);
static void ngx_webrtc_stream_notify(ngx_webrtc_stream_local_t *l,
    ngx_uint_t event);
static void ngx_webrtc_stream_notify_all(ngx_uint_t event);
static void ngx_webrtc_stream_wake_workers(ngx_webrtc_stream_t *st,
    ngx_uint_t armed_only);
static void ngx_webrtc_stream_posted(ngx_event_t *ev);
static void ngx_webrtc_stream_keyframe_want(ngx_webrtc_stream_t *st,
    ngx_atomic_uint_t bits);


static ngx_queue_t           ngx_webrtc_stream_locals;
static ngx_webrtc_stream_t  *ngx_webrtc_stream_dirty[NGX_WEBRTC_DIRTY_MAX];
static ngx_uint_t            ngx_webrtc_stream_ndirty;
static ngx_event_t           ngx_webrtc_stream_event;
static ngx_webrtc_stream_publish_pt  ngx_webrtc_stream_publish_handler;


void
ngx_webrtc_stream_init(void)
{
    ngx_queue_init(&ngx_webrtc_stream_locals);

    ngx_webrtc_stream_ndirty = 0;
    ngx_webrtc_stream_publish_handler = NULL;

    ngx_webrtc_stream_event.handler = ngx_webrtc_stream_posted;
    ngx_webrtc_stream_event.data = ngx_webrtc_worker;
    ngx_webrtc_stream_event.log = ngx_webrtc_worker->log;
}


/* a consumer of every stream published here: the HLS packager */

void
ngx_webrtc_stream_on_publish(ngx_webrtc_stream_publish_pt handler)
{
    ngx_webrtc_stream_publish_handler = handler;
}


/* the worker exits: readers that hold requests open let them go */

void
ngx_webrtc_stream_shutdown(void)
{
    ngx_webrtc_stream_notify_all(NGX_WEBRTC_READ_SHUTDOWN);
}


void
ngx_webrtc_stream_exit(void)
{
    if (ngx_webrtc_stream_event.posted) {
        ngx_delete_posted_event(&ngx_webrtc_stream_event);
    }
}


ngx_webrtc_stream_t *
ngx_webrtc_stream_acquire(ngx_str_t *name, ngx_uint_t create)
{
    ngx_queue_t                 *q;
    ngx_slab_pool_t             *shpool;
    ngx_webrtc_shm_t            *sh;
    ngx_webrtc_slot_t           *slots;
    ngx_webrtc_stream_t         *st;
    ngx_webrtc_stream_worker_t  *sw;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;

    ngx_shmtx_lock(&shpool->mutex);

    for (q = ngx_queue_head(&sh->streams);
         q != ngx_queue_sentinel(&sh->streams);
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_webrtc_stream_t, queue);

        if (st->name_len == name->len
            && ngx_memcmp(st->name, name->data, name->len) == 0)
        {
            sw = ngx_webrtc_stream_slot_locked(st, 1);
            if (sw == NULL) {
                ngx_shmtx_unlock(&shpool->mutex);
                return NULL;
            }

            sw->refs++;
            st->refs++;
            ngx_shmtx_unlock(&shpool->mutex);
            return st;
        }
    }

    if (!create) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NULL;
    }

    if (!ngx_queue_empty(&sh->spares)) {
        q = ngx_queue_head(&sh->spares);
        ngx_queue_remove(q);
        sh->nspares--;

        st = ngx_queue_data(q, ngx_webrtc_stream_t, queue);
        slots = st->ring.slots;
        ngx_memzero(st, sizeof(ngx_webrtc_stream_t));
        st->ring.slots = slots;

    } else {
        st = ngx_slab_calloc_locked(shpool, sizeof(ngx_webrtc_stream_t));
        if (st == NULL) {
            goto nomem;
        }
    }

    /* the message ring comes with the first message or event stream */

    if (ngx_webrtc_ring_init_locked(&st->ring, shpool) != NGX_OK) {
        ngx_slab_free_locked(shpool, st);
        goto nomem;
    }

    ngx_memcpy(st->name, name->data, name->len);
    st->name_len = name->len;
    st->refs = 1;

    sw = &st->workers[0];
    sw->pid = ngx_pid;
    sw->port = ngx_webrtc_worker->port;
    sw->refs = 1;

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


void
ngx_webrtc_stream_release(ngx_webrtc_stream_t *st)
{
    ngx_slab_pool_t             *shpool;
    ngx_webrtc_stream_worker_t  *sw;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    sw = ngx_webrtc_stream_slot_locked(st, 0);

    if (sw == NULL || sw->refs == 0) {
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_log_error(NGX_LOG_ALERT, ngx_webrtc_worker->log, 0,
                      "webrtc: stream \"%*s\" released without a reference",
                      st->name_len, st->name);
        return;
    }

    sw->refs--;
    ngx_webrtc_stream_slot_unused_locked(sw);

    if (--st->refs == 0) {
        ngx_webrtc_stream_free_locked(shpool, st);
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


static void
ngx_webrtc_stream_free_locked(ngx_slab_pool_t *shpool,
    ngx_webrtc_stream_t *st)
{
    ngx_webrtc_shm_t  *sh;

    sh = ngx_webrtc_worker->shm->sh;

    ngx_queue_remove(&st->queue);

    if (st->hls) {
        ngx_slab_free_locked(shpool, st->hls);
    }

    ngx_webrtc_mring_free_locked(&st->mring, shpool);

    if (sh->nspares < NGX_WEBRTC_STREAM_SPARES) {
        ngx_queue_insert_head(&sh->spares, &st->queue);
        sh->nspares++;
        return;
    }

    ngx_webrtc_ring_free_locked(&st->ring, shpool);
    ngx_slab_free_locked(shpool, st);
}


/* viewer sessions of the stream, for webrtc_max_viewers */

void
ngx_webrtc_stream_viewers(ngx_webrtc_stream_t *st, ngx_int_t n)
{
    ngx_slab_pool_t             *shpool;
    ngx_webrtc_stream_worker_t  *sw;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    sw = ngx_webrtc_stream_slot_locked(st, n > 0);

    if (sw) {
        sw->viewers += n;
        st->viewers += n;
        ngx_webrtc_stream_slot_unused_locked(sw);
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/* the publisher's tracks become the stream's; numbering stays continuous */

ngx_webrtc_stream_t *
ngx_webrtc_stream_publish(ngx_str_t *name, u_char *id,
    ngx_webrtc_track_t *tracks, ngx_uint_t ntracks, ngx_str_t *record)
{
    ngx_uint_t                  i;
    ngx_slab_pool_t            *shpool;
    ngx_webrtc_track_t         *t;
    ngx_webrtc_stream_t        *st;
    ngx_webrtc_stream_track_t  *sk;

    st = ngx_webrtc_stream_acquire(name, 1);
    if (st == NULL) {
        return NULL;
    }

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_WEBRTC_MAX_TRACKS; i++) {
        st->tracks[i].kind = 0;
    }

    for (i = 0; i < ntracks; i++) {
        t = &tracks[i];
        sk = &st->tracks[ngx_webrtc_stream_track(t)];

        sk->kind = t->kind;
        sk->codec = t->codec;
        sk->clock_rate = t->clock_rate;
        sk->channels = t->channels;
        sk->fmtp_len = ngx_min(t->fmtp.len, NGX_WEBRTC_FMTP_MAX);
        ngx_memcpy(sk->fmtp, t->fmtp.data, sk->fmtp_len);
        sk->has_profile = 0;

        /* the next packet is from a new source: renumber from it */
        sk->rn.source = 0;
        sk->sr_ntp = 0;
    }

    st->pub_pid = ngx_pid;
    st->close_viewers = 0;
    st->pub_port = ngx_webrtc_worker->port;
    ngx_memcpy(st->pub_id, id, NGX_WEBRTC_ID_LEN);

    /* a new publisher's first keyframe starts the GOP cache anew */
    st->ring.keyframe_idx = NGX_WEBRTC_RING_NONE;

    ngx_shmtx_unlock(&shpool->mutex);

    if (ngx_webrtc_stream_publish_handler) {
        ngx_webrtc_stream_publish_handler(st, record);
    }

    return st;
}


/*
 * The publisher leaves.  With webrtc_viewers_follow off, the readers of
 * every worker are told, and the viewers among them end.
 */

void
ngx_webrtc_stream_unpublish(ngx_webrtc_stream_t *st, u_char *id,
    ngx_uint_t close_viewers)
{
    ngx_uint_t        close;
    ngx_slab_pool_t  *shpool;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    close = 0;

    if (st->pub_pid == ngx_pid
        && ngx_memcmp(st->pub_id, id, NGX_WEBRTC_ID_LEN) == 0)
    {
        st->pub_pid = 0;
        st->close_viewers = close_viewers;
        close = close_viewers;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (close) {
        ngx_webrtc_stream_wake_workers(st, 0);

        if (!ngx_webrtc_stream_event.posted) {
            ngx_post_event(&ngx_webrtc_stream_event, &ngx_posted_events);
        }
    }

    ngx_webrtc_stream_release(st);
}


/*
 * One packet of the publisher into the ring.  Sequence numbers and
 * timestamps are moved into the stream's space: a new source continues
 * where the last one ended, so viewers see one continuous stream, and
 * each packet kept has an index that no other packet of the track gets
 * (the viewers' SRTP indexes follow it): a late packet whose place is
 * taken is dropped.
 */

void
ngx_webrtc_stream_write(ngx_webrtc_stream_t *st, ngx_webrtc_track_t *t,
    ngx_webrtc_rtp_t *rtp, ngx_uint_t keyframe)
{
    uint32_t                    ts;
    uint64_t                    idx, index;
    ngx_uint_t                  i, k;
    ngx_msec_t                  now;
    ngx_webrtc_slot_t           slot;
    ngx_webrtc_stream_track_t  *sk;

    if (st->pub_pid != ngx_pid || rtp->payload_len > NGX_WEBRTC_SLOT_DATA) {
        return;
    }

    k = ngx_webrtc_stream_track(t);
    sk = &st->tracks[k];
    now = ngx_current_msec;

    if (!sk->rn.source || sk->rn.ssrc != rtp->ssrc) {
        /* a new source: its timestamps continue the stream's */

        sk->rid_len = t->rid_len;
        ngx_memcpy(sk->rid, t->rid, t->rid_len);

        if (sk->started) {
            sk->ts_off = sk->last_ts
                         + (uint32_t) ((uint64_t) (now - sk->last_msec)
                                       * sk->clock_rate / 1000)
                         + 1 - rtp->ts;

        } else {
            sk->ts_off = 0;
            sk->started = 1;
        }
    }

    index = ngx_webrtc_renumber(&sk->rn, rtp->ssrc, rtp->seq);
    if (index == NGX_WEBRTC_INDEX_NONE) {
        /* late, and its place taken or gone */
        return;
    }

    ts = rtp->ts + sk->ts_off;

    if (index + 1 == sk->rn.next) {
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

    slot.ts = ts;
    slot.seq = index;
    slot.len = (uint16_t) rtp->payload_len;
    slot.track = (uint8_t) k;
    slot.marker = rtp->marker;
    slot.keyframe = (uint8_t) keyframe;

    idx = ngx_webrtc_ring_write(&st->ring, &slot, rtp->payload);

    sk->seq_map[index & NGX_WEBRTC_RING_MASK] = (uint32_t) idx;

    for (i = 0; i < ngx_webrtc_stream_ndirty; i++) {
        if (ngx_webrtc_stream_dirty[i] == st) {
            return;
        }
    }

    if (ngx_webrtc_stream_ndirty == NGX_WEBRTC_DIRTY_MAX) {
        ngx_webrtc_stream_flush();
    }

    ngx_webrtc_stream_dirty[ngx_webrtc_stream_ndirty++] = st;
}


/*
 * After a batch of received packets: this worker's readers of the
 * streams written are called now, other workers with readers that asked
 * for a wake-up get one datagram each.
 */

void
ngx_webrtc_stream_flush(void)
{
    ngx_uint_t                  i;
    ngx_queue_t                *q, *next;
    ngx_webrtc_stream_t        *st;
    ngx_webrtc_stream_local_t  *l;

    if (ngx_webrtc_stream_ndirty == 0) {
        return;
    }

    for (i = 0; i < ngx_webrtc_stream_ndirty; i++) {
        st = ngx_webrtc_stream_dirty[i];

        for (q = ngx_queue_head(&ngx_webrtc_stream_locals);
             q != ngx_queue_sentinel(&ngx_webrtc_stream_locals);
             q = next)
        {
            next = ngx_queue_next(q);
            l = ngx_queue_data(q, ngx_webrtc_stream_local_t, queue);

            if (l->st == st) {
                ngx_webrtc_stream_notify(l, NGX_WEBRTC_READ_NEW);
            }
        }

        ngx_webrtc_stream_wake_workers(st, 1);
    }

    ngx_webrtc_stream_ndirty = 0;

    ngx_webrtc_udp_batch_flush(ngx_webrtc_worker->udp);
}


/* a wake-up datagram from another worker: every reader looks */

void
ngx_webrtc_stream_wake(void)
{
    ngx_queue_t                *q;
    ngx_webrtc_stream_local_t  *l;

    for (q = ngx_queue_head(&ngx_webrtc_stream_locals);
         q != ngx_queue_sentinel(&ngx_webrtc_stream_locals);
         q = ngx_queue_next(q))
    {
        l = ngx_queue_data(q, ngx_webrtc_stream_local_t, queue);

        /* armed first: a packet written from now on wakes us again */
        ngx_atomic_cmp_set(&l->st->workers[l->slot].armed, 0, 1);
    }

    ngx_webrtc_stream_notify_all(NGX_WEBRTC_READ_NEW);

    ngx_webrtc_udp_batch_flush(ngx_webrtc_worker->udp);
}


static void
ngx_webrtc_stream_posted(ngx_event_t *ev)
{
    ngx_webrtc_stream_notify_all(NGX_WEBRTC_READ_NEW);

    ngx_webrtc_udp_batch_flush(ngx_webrtc_worker->udp);
}


static void
ngx_webrtc_stream_notify_all(ngx_uint_t event)
{
    ngx_queue_t                *q, *next;
    ngx_webrtc_stream_local_t  *l;

    for (q = ngx_queue_head(&ngx_webrtc_stream_locals);
         q != ngx_queue_sentinel(&ngx_webrtc_stream_locals);
         q = next)
    {
        next = ngx_queue_next(q);
        l = ngx_queue_data(q, ngx_webrtc_stream_local_t, queue);

        ngx_webrtc_stream_notify(l, event);
    }
}


/*
 * a handler may remove readers, its own and others (a closing session drops
 * its data channel reader too): reader_del() moves l->next past the one it
 * removes, and l stays until after the walk
 */

static void
ngx_webrtc_stream_notify(ngx_webrtc_stream_local_t *l, ngx_uint_t event)
{
    ngx_queue_t          *q;
    ngx_webrtc_reader_t  *rd;

    if (l->busy) {
        return;
    }

    l->busy = 1;

    for (q = ngx_queue_head(&l->readers);
         q != ngx_queue_sentinel(&l->readers);
         q = l->next)
    {
        l->next = ngx_queue_next(q);
        rd = ngx_queue_data(q, ngx_webrtc_reader_t, queue);

        rd->handler(rd, event);
    }

    l->busy = 0;

    if (l->nreaders == 0) {
        ngx_webrtc_stream_local_free(l);
    }
}


static void
ngx_webrtc_stream_wake_workers(ngx_webrtc_stream_t *st, ngx_uint_t armed_only)
{
    ngx_uint_t                   i;
    ngx_webrtc_stream_worker_t  *sw;

    for (i = 0; i < NGX_WEBRTC_STREAM_WORKERS; i++) {
        sw = &st->workers[i];

        if (sw->readers == 0 || sw->pid == ngx_pid || sw->pid == 0) {
            continue;
        }

        if (!armed_only || ngx_atomic_cmp_set(&sw->armed, 1, 0)) {
            (void) ngx_webrtc_udp_ctl_send(ngx_webrtc_worker->udp, sw->port,
                                           NGX_WEBRTC_CTL_WAKE, st->pub_id);
        }
    }
}


/*
 * A sender report of the publisher's current source: wall clock and RTP
 * time of one instant, for readers that put tracks on one timeline
 */

void
ngx_webrtc_stream_sender_report(ngx_webrtc_stream_t *st, ngx_webrtc_track_t *t,
    uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts)
{
    ngx_webrtc_stream_track_t  *sk;

    sk = &st->tracks[ngx_webrtc_stream_track(t)];

    if (st->pub_pid != ngx_pid || !sk->rn.source || sk->rn.ssrc != ssrc
        || ntp == 0)
    {
        return;
    }

    sk->sr_ts = rtp_ts + sk->ts_off;
    ngx_memory_barrier();
    sk->sr_ntp = ntp;
}


/*
 * A keyframe of one video track (a simulcast layer): its bit is kept in
 * the stream until the publisher's worker takes it, so that a request
 * within the second of another still reaches it with the next.
 */

void
ngx_webrtc_stream_layer_keyframe(ngx_webrtc_stream_t *st, ngx_uint_t k)
{
    ngx_webrtc_stream_keyframe_want(st, (ngx_atomic_uint_t) 1 << k);
}


static void
ngx_webrtc_stream_keyframe_want(ngx_webrtc_stream_t *st,
    ngx_atomic_uint_t bits)
{
    ngx_msec_t         now;
    ngx_atomic_uint_t  old;

    do {
        old = st->keyframe_tracks;
    } while ((old & bits) != bits
             && !ngx_atomic_cmp_set(&st->keyframe_tracks, old, old | bits));

    now = ngx_current_msec;

    if (now - st->last_keyframe_request < 1000 || st->pub_pid == 0) {
        return;
    }

    st->last_keyframe_request = now;

    /* to the publisher's worker, this one too: its control dispatch */
    (void) ngx_webrtc_udp_ctl_send(ngx_webrtc_worker->udp, st->pub_port,
                                   NGX_WEBRTC_CTL_KEYFRAME, st->pub_id);
}


/* the publisher's worker: the tracks asked for since it last looked */

ngx_uint_t
ngx_webrtc_stream_keyframe_tracks(ngx_webrtc_stream_t *st)
{
    ngx_atomic_uint_t  old;

    do {
        old = st->keyframe_tracks;
    } while (old && !ngx_atomic_cmp_set(&st->keyframe_tracks, old, 0));

    return (ngx_uint_t) old;
}


/* PLI/FIR towards the publisher for every video track */

void
ngx_webrtc_stream_keyframe_request(ngx_webrtc_stream_t *st)
{
    ngx_webrtc_stream_keyframe_want(st, (ngx_atomic_uint_t) -1);
}


/* the stream track of the simulcast layer rid now, 0 if none */

ngx_uint_t
ngx_webrtc_stream_layer(ngx_webrtc_stream_t *st, u_char *rid, size_t len)
{
    ngx_uint_t  k;

    for (k = 1; k < NGX_WEBRTC_MAX_TRACKS; k++) {
        if (st->tracks[k].kind && st->tracks[k].rid_len == len
            && ngx_memcmp(st->tracks[k].rid, rid, len) == 0)
        {
            return k;
        }
    }

    return 0;
}


/* the message ring, for a reader that wants messages of a new stream */

ngx_int_t
ngx_webrtc_stream_messages_on(ngx_webrtc_stream_t *st)
{
    ngx_int_t         rc;
    ngx_slab_pool_t  *shpool;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);
    rc = ngx_webrtc_mring_init_locked(&st->mring, shpool);
    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


/*
 * A data channel message into the stream, from a publisher, a viewer or
 * an HTTP POST; NGX_DECLINED when over the size or webrtc_data_rate.
 */

ngx_int_t
ngx_webrtc_stream_message(ngx_webrtc_stream_t *st, ngx_uint_t origin,
    u_char *origin_id, ngx_str_t *label, ngx_uint_t binary, u_char *data,
    size_t len)
{
    ngx_uint_t          log;
    ngx_time_t         *tp;
    ngx_slab_pool_t    *shpool;
    ngx_webrtc_msg_t    msg;
    ngx_webrtc_conf_t  *conf;

    conf = ngx_webrtc_worker->conf;

    if (len > conf->dc_max_message) {
        return NGX_DECLINED;
    }

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    if (ngx_webrtc_mring_init_locked(&st->mring, shpool) != NGX_OK) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ERROR;
    }

    tp = ngx_timeofday();

    if (st->rate_sec != tp->sec) {
        st->rate_sec = tp->sec;
        st->rate_count = 0;
    }

    if (conf->dc_rate && ++st->rate_count > conf->dc_rate) {

        /* logged once a flood: not again while the seconds go on dropping */
        log = (st->rate_dropped != tp->sec && st->rate_dropped != tp->sec - 1);
        st->rate_dropped = tp->sec;

        ngx_shmtx_unlock(&shpool->mutex);

        if (log) {
            ngx_log_error(NGX_LOG_INFO, ngx_webrtc_worker->log, 0,
                          "webrtc: stream \"%*s\" sends more than %ui "
                          "messages a second, dropping", st->name_len,
                          st->name, conf->dc_rate);
        }

        return NGX_DECLINED;
    }

    ngx_memzero(&msg, sizeof(ngx_webrtc_msg_t));

    msg.len = (uint32_t) len;
    msg.binary = (uint8_t) binary;
    msg.origin = (uint8_t) origin;
    ngx_memcpy(msg.origin_id, origin_id, 8);

    ngx_webrtc_mring_write_locked(&st->mring, &msg, label, data);

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_webrtc_stream_wake_workers(st, 0);

    /*
     * this worker's readers: after the current handler, never from inside
     * usrsctp's receive callback
     */
    if (!ngx_webrtc_stream_event.posted) {
        ngx_post_event(&ngx_webrtc_stream_event, &ngx_posted_events);
    }

    return NGX_OK;
}


ngx_int_t
ngx_webrtc_stream_reader_add(ngx_webrtc_reader_t *rd)
{
    ngx_webrtc_stream_local_t  *l;

    l = ngx_webrtc_stream_local(rd->st);
    if (l == NULL) {
        return NGX_ERROR;
    }

    rd->local = l;
    ngx_queue_insert_tail(&l->readers, &rd->queue);
    l->nreaders++;

    return NGX_OK;
}


void
ngx_webrtc_stream_reader_del(ngx_webrtc_reader_t *rd)
{
    ngx_webrtc_stream_local_t  *l;

    l = rd->local;
    if (l == NULL) {
        return;
    }

    if (l->busy && l->next == &rd->queue) {
        l->next = ngx_queue_next(&rd->queue);
    }

    ngx_queue_remove(&rd->queue);
    rd->local = NULL;

    if (--l->nreaders == 0 && !l->busy) {
        ngx_webrtc_stream_local_free(l);
    }
}


/* a reader that looked by itself: a lost wake-up must not stall it long */

void
ngx_webrtc_stream_rearm(ngx_webrtc_reader_t *rd)
{
    ngx_atomic_cmp_set(&rd->st->workers[rd->local->slot].armed, 0, 1);
}


static ngx_webrtc_stream_local_t *
ngx_webrtc_stream_local(ngx_webrtc_stream_t *st)
{
    ngx_queue_t                 *q;
    ngx_slab_pool_t             *shpool;
    ngx_webrtc_stream_local_t   *l;
    ngx_webrtc_stream_worker_t  *sw;

    for (q = ngx_queue_head(&ngx_webrtc_stream_locals);
         q != ngx_queue_sentinel(&ngx_webrtc_stream_locals);
         q = ngx_queue_next(q))
    {
        l = ngx_queue_data(q, ngx_webrtc_stream_local_t, queue);

        if (l->st == st) {
            return l;
        }
    }

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    sw = ngx_webrtc_stream_slot_locked(st, 1);
    if (sw == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NULL;
    }

    l = ngx_calloc(sizeof(ngx_webrtc_stream_local_t), ngx_webrtc_worker->log);
    if (l == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NULL;
    }

    sw->readers = 1;
    sw->armed = 1;

    ngx_shmtx_unlock(&shpool->mutex);

    l->st = st;
    l->slot = sw - st->workers;
    ngx_queue_init(&l->readers);
    ngx_queue_insert_tail(&ngx_webrtc_stream_locals, &l->queue);

    return l;
}


static void
ngx_webrtc_stream_local_free(ngx_webrtc_stream_local_t *l)
{
    ngx_slab_pool_t  *shpool;

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);
    l->st->workers[l->slot].readers = 0;
    ngx_webrtc_stream_slot_unused_locked(&l->st->workers[l->slot]);
    ngx_shmtx_unlock(&shpool->mutex);

    ngx_queue_remove(&l->queue);
    ngx_free(l);
}


/*
 * This worker's slot in the stream; when it has none and take is set, a
 * free one, or one of a worker that died (what it held is taken back).
 */

static ngx_webrtc_stream_worker_t *
ngx_webrtc_stream_slot_locked(ngx_webrtc_stream_t *st, ngx_uint_t take)
{
    ngx_uint_t                   i;
    ngx_webrtc_stream_worker_t  *sw, *free;

    free = NULL;

    for (i = 0; i < NGX_WEBRTC_STREAM_WORKERS; i++) {
        sw = &st->workers[i];

        if (sw->pid == ngx_pid) {
            return sw;
        }

        if (free == NULL && sw->pid == 0) {
            free = sw;
        }
    }

    if (!take) {
        return NULL;
    }

    if (free == NULL) {
        for (i = 0; i < NGX_WEBRTC_STREAM_WORKERS; i++) {
            sw = &st->workers[i];

            if (kill(sw->pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
                ngx_webrtc_stream_slot_dead_locked(st, sw);
                free = sw;
                break;
            }
        }
    }

    if (free == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_webrtc_worker->log, 0,
                      "webrtc: too many workers serve one stream");
        return NULL;
    }

    free->pid = ngx_pid;
    free->port = ngx_webrtc_worker->port;

    return free;
}


static void
ngx_webrtc_stream_slot_unused_locked(ngx_webrtc_stream_worker_t *sw)
{
    if (sw->readers == 0 && sw->refs == 0 && sw->viewers == 0) {
        sw->pid = 0;
    }
}


static void
ngx_webrtc_stream_slot_dead_locked(ngx_webrtc_stream_t *st,
    ngx_webrtc_stream_worker_t *sw)
{
    if (st->pub_pid == sw->pid) {
        /* its viewers elsewhere wait for the next publisher */
        st->pub_pid = 0;
    }

    st->refs -= sw->refs;
    st->viewers -= sw->viewers;

    ngx_memzero(sw, sizeof(ngx_webrtc_stream_worker_t));
}


/*
 * Once a second, in one worker at a time: what workers that died (a
 * crash, SIGKILL) held of each stream is taken back, and a stream
 * nobody holds any more is freed.  Returns how many pulls lost their
 * worker (see ngx_webrtc_pull_sweep()).
 */

ngx_uint_t
ngx_webrtc_stream_sweep_locked(ngx_webrtc_pids_t *pids)
{
    ngx_uint_t                   i, orphans;
    ngx_queue_t                 *q, *next;
    ngx_slab_pool_t             *shpool;
    ngx_webrtc_shm_t            *sh;
    ngx_webrtc_stream_t         *st;
    ngx_webrtc_stream_worker_t  *sw;

    shpool = ngx_webrtc_worker->shm->shpool;
    sh = ngx_webrtc_worker->shm->sh;
    orphans = 0;

    for (q = ngx_queue_head(&sh->streams);
         q != ngx_queue_sentinel(&sh->streams);
         q = next)
    {
        next = ngx_queue_next(q);
        st = ngx_queue_data(q, ngx_webrtc_stream_t, queue);

        for (i = 0; i < NGX_WEBRTC_STREAM_WORKERS; i++) {
            sw = &st->workers[i];

            if (sw->pid && !ngx_webrtc_registry_pid_alive(pids, sw->pid)) {
                ngx_log_error(NGX_LOG_NOTICE, ngx_webrtc_worker->log, 0,
                              "webrtc: stream \"%*s\": worker %P died, "
                              "%ui references and %ui viewers taken back",
                              st->name_len, st->name, sw->pid, sw->refs,
                              sw->viewers);

                ngx_webrtc_stream_slot_dead_locked(st, sw);
            }
        }

        if (st->pub_pid && !ngx_webrtc_registry_pid_alive(pids, st->pub_pid))
        {
            st->pub_pid = 0;
        }

        if (st->pull_pid
            && !ngx_webrtc_registry_pid_alive(pids, st->pull_pid))
        {
            /* a sibling starts the pull again for its viewers */
            st->pull_pid = 0;
            st->pull_status = 0;
            st->pull.pid = 0;
            st->pull_orphan = 1;
            orphans++;
        }

        for (i = 0; i < NGX_WEBRTC_STREAM_PUSHES; i++) {
            if (st->push[i].pid
                && !ngx_webrtc_registry_pid_alive(pids, st->push[i].pid))
            {
                st->push[i].pid = 0;
            }
        }

        if (st->refs == 0) {
            ngx_webrtc_stream_free_locked(shpool, st);
        }
    }

    return orphans;
}
