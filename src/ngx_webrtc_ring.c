
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_ring.h"


/*
 * Slots and records of a stream's rings; see ngx_webrtc_ring.h.  The
 * only reader of the message ring is here: event streams and data
 * channel sessions both use it.
 */


#define NGX_WEBRTC_MRING_MASK  (NGX_WEBRTC_MRING_SIZE - 1)


ngx_int_t
ngx_webrtc_ring_init_locked(ngx_webrtc_ring_t *r, ngx_slab_pool_t *shpool)
{
    ngx_uint_t  i;

    /* a spare stream's ring is used again: only its slots are reset */

    if (r->slots == NULL) {
        r->slots = ngx_slab_alloc_locked(shpool, NGX_WEBRTC_RING_SLOTS
                                                 * sizeof(ngx_webrtc_slot_t));
        if (r->slots == NULL) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < NGX_WEBRTC_RING_SLOTS; i++) {
        r->slots[i].idx = NGX_WEBRTC_RING_NONE;
    }

    r->keyframe_idx = NGX_WEBRTC_RING_NONE;

    return NGX_OK;
}


void
ngx_webrtc_ring_free_locked(ngx_webrtc_ring_t *r, ngx_slab_pool_t *shpool)
{
    ngx_slab_free_locked(shpool, r->slots);
    r->slots = NULL;
}


/* the slot's header from *in, its payload from data; returns its index */

uint64_t
ngx_webrtc_ring_write(ngx_webrtc_ring_t *r, ngx_webrtc_slot_t *in,
    u_char *data)
{
    uint64_t            idx;
    ngx_webrtc_slot_t  *slot;

    idx = r->write_idx;
    slot = &r->slots[idx & NGX_WEBRTC_RING_MASK];

    /* a seqlock: readers check idx before and after copying */
    slot->idx = NGX_WEBRTC_RING_NONE;
    ngx_memory_barrier();

    slot->ts = in->ts;
    slot->seq = in->seq;
    slot->len = in->len;
    slot->track = in->track;
    slot->marker = in->marker;
    slot->keyframe = in->keyframe;
    ngx_memcpy(slot->data, data, in->len);

    ngx_memory_barrier();
    slot->idx = idx;

    /* the GOP cache is the top video layer's */
    if (in->keyframe && in->track == NGX_WEBRTC_RING_KEY_TRACK) {
        r->keyframe_idx = idx;
    }

    ngx_memory_barrier();
    r->write_idx = idx + 1;

    return idx;
}


ngx_int_t
ngx_webrtc_ring_read(ngx_webrtc_ring_t *r, uint64_t idx,
    ngx_webrtc_slot_t *copy)
{
    size_t              len;
    ngx_webrtc_slot_t  *slot;

    slot = &r->slots[idx & NGX_WEBRTC_RING_MASK];

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


ngx_int_t
ngx_webrtc_mring_init_locked(ngx_webrtc_mring_t *mr, ngx_slab_pool_t *shpool)
{
    if (mr->data) {
        return NGX_OK;
    }

    mr->data = ngx_slab_alloc_locked(shpool, NGX_WEBRTC_MRING_SIZE);
    if (mr->data == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_webrtc_mring_free_locked(ngx_webrtc_mring_t *mr, ngx_slab_pool_t *shpool)
{
    if (mr->data) {
        ngx_slab_free_locked(shpool, mr->data);
        mr->data = NULL;
    }
}


/*
 * A message, under the zone's lock: msg has origin, binary and len set;
 * id and size are set here.  Readers check "reserved" after copying, so
 * a record the writer started to overwrite is never delivered torn.
 */

void
ngx_webrtc_mring_write_locked(ngx_webrtc_mring_t *mr, ngx_webrtc_msg_t *msg,
    ngx_str_t *label, u_char *data)
{
    size_t             size, room;
    uint64_t           pos;
    ngx_webrtc_msg_t  *rec;

    size = ngx_align(sizeof(ngx_webrtc_msg_t) + label->len + msg->len, 8);

    pos = mr->write;
    room = NGX_WEBRTC_MRING_SIZE - (pos & NGX_WEBRTC_MRING_MASK);

    if (room < size) {
        /*
         * no wrapping inside a record: pad to the end of the ring; a
         * rest too small for a header is padding without one
         */
        mr->reserved = pos + room + size;
        ngx_memory_barrier();

        if (room >= sizeof(ngx_webrtc_msg_t)) {
            rec = (ngx_webrtc_msg_t *)
                      (mr->data + (pos & NGX_WEBRTC_MRING_MASK));
            rec->id = 0;
            rec->size = (uint32_t) room;
        }

        pos += room;

    } else {
        mr->reserved = pos + size;
        ngx_memory_barrier();
    }

    rec = (ngx_webrtc_msg_t *) (mr->data + (pos & NGX_WEBRTC_MRING_MASK));

    *rec = *msg;
    rec->id = ++mr->next_id;
    rec->size = (uint32_t) size;
    rec->label_len = (uint16_t) label->len;

    ngx_memcpy((u_char *) (rec + 1), label->data, label->len);
    ngx_memcpy((u_char *) (rec + 1) + label->len, data, msg->len);

    mr->ids[rec->id % NGX_WEBRTC_MRING_IDS] = pos;

    ngx_memory_barrier();
    mr->write = pos + size;
}


/*
 * The next message after *cursor, copied whole into buf (of
 * NGX_WEBRTC_MSG_MAX bytes): NGX_OK, or NGX_DONE when there is none;
 * NGX_ABORT when the reader fell behind the writers (the cursor then
 * jumps to the end: the messages in between are lost for this reader).
 */

ngx_int_t
ngx_webrtc_mring_read(ngx_webrtc_mring_t *mr, uint64_t *cursor, u_char *buf)
{
    u_char            *p;
    size_t             room;
    uint64_t           end;
    ngx_webrtc_msg_t   rec;

    if (mr->data == NULL) {
        return NGX_DONE;
    }

    end = mr->write;
    ngx_memory_barrier();

    if (end - *cursor > NGX_WEBRTC_MRING_SIZE) {
        *cursor = end;
        return NGX_ABORT;
    }

    while (*cursor < end) {
        room = NGX_WEBRTC_MRING_SIZE - (*cursor & NGX_WEBRTC_MRING_MASK);

        if (room < sizeof(ngx_webrtc_msg_t)) {
            /* padding without a header */
            *cursor += room;
            continue;
        }

        p = mr->data + (*cursor & NGX_WEBRTC_MRING_MASK);
        ngx_memcpy(&rec, p, sizeof(ngx_webrtc_msg_t));

        /* even a torn header cannot send the copy outside the ring or buf */
        if (rec.size < sizeof(ngx_webrtc_msg_t) || rec.size > room
            || rec.size > end - *cursor
            || (rec.id && rec.size > NGX_WEBRTC_MSG_MAX))
        {
            *cursor = end;
            return NGX_ABORT;
        }

        if (rec.id) {
            ngx_memcpy(buf, p, rec.size);
        }

        /* padding is checked too: a torn size would land inside a record */
        ngx_memory_barrier();

        if (mr->reserved - *cursor > NGX_WEBRTC_MRING_SIZE) {
            /* overwritten while we copied */
            *cursor = end;
            return NGX_ABORT;
        }

        *cursor += rec.size;

        if (rec.id) {
            return NGX_OK;
        }
    }

    return NGX_DONE;
}


/* the cursor after message id (Last-Event-ID), or the end if it is gone */

uint64_t
ngx_webrtc_mring_resume(ngx_webrtc_mring_t *mr, uint64_t id)
{
    uint64_t          pos, end;
    ngx_webrtc_msg_t  rec;

    end = mr->write;
    ngx_memory_barrier();

    pos = mr->ids[id % NGX_WEBRTC_MRING_IDS];

    if (mr->data == NULL || end - pos > NGX_WEBRTC_MRING_SIZE || pos >= end) {
        return end;
    }

    ngx_memcpy(&rec, mr->data + (pos & NGX_WEBRTC_MRING_MASK), sizeof(rec));
    ngx_memory_barrier();

    if (rec.id != id || mr->reserved - pos > NGX_WEBRTC_MRING_SIZE) {
        /* too old: the window has passed */
        return end;
    }

    return pos + rec.size;
}
