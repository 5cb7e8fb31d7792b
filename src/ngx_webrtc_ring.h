
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_RING_H_INCLUDED_
#define _NGX_WEBRTC_RING_H_INCLUDED_


#include "ngx_webrtc.h"


/*
 * The rings of a stream in shared memory.  The packet ring has one
 * writer (the publisher's worker) and lock-free readers (a seqlock per
 * slot).  The message ring (data channel messages) has many writers
 * under the zone's lock and lock-free readers that check, after copying,
 * that the writers did not reach what they copied.
 */


#define NGX_WEBRTC_RING_SLOTS        2048   /* a power of 2 */
#define NGX_WEBRTC_RING_MASK         (NGX_WEBRTC_RING_SLOTS - 1)
#define NGX_WEBRTC_SLOT_DATA         1400
#define NGX_WEBRTC_RING_NONE         ((uint64_t) -1)
#define NGX_WEBRTC_RING_KEY_TRACK    1      /* keyframe_idx: its keys */

#define NGX_WEBRTC_MRING_SIZE        (1024 * 1024)   /* a power of 2 */
#define NGX_WEBRTC_MRING_IDS         256
#define NGX_WEBRTC_MSG_MAX           (sizeof(ngx_webrtc_msg_t)               \
                                      + NGX_WEBRTC_LABEL_MAX                 \
                                      + NGX_WEBRTC_DC_MESSAGE_MAX + 8)


/* one RTP payload, in stream numbering */
typedef struct {
    volatile uint64_t           idx;          /* ring index; ~0: writing */
    uint64_t                    seq;          /* the stream's SRTP index */
    uint32_t                    ts;
    uint16_t                    len;
    uint8_t                     track;
    uint8_t                     marker;
    uint8_t                     keyframe;     /* first packet of a key */
    u_char                      data[NGX_WEBRTC_SLOT_DATA];
} ngx_webrtc_slot_t;


typedef struct {
    ngx_webrtc_slot_t          *slots;
    volatile uint64_t           write_idx;    /* next index to write */
    volatile uint64_t           keyframe_idx; /* last key start, or ~0 */
} ngx_webrtc_ring_t;


/* a data channel message: label and data follow */
typedef struct {
    uint64_t                    id;           /* 0: padding to the end */
    uint32_t                    size;         /* whole record, 8-aligned */
    uint32_t                    len;
    uint16_t                    label_len;
    uint8_t                     binary;
    uint8_t                     origin;
    u_char                      origin_id[8];
} ngx_webrtc_msg_t;


typedef struct {
    u_char                     *data;         /* NULL until first needed */
    volatile uint64_t           reserved;     /* written up to, soon */
    volatile uint64_t           write;        /* written up to */
    uint64_t                    next_id;
    uint64_t                    ids[NGX_WEBRTC_MRING_IDS];  /* id -> pos */
} ngx_webrtc_mring_t;


ngx_int_t ngx_webrtc_ring_init_locked(ngx_webrtc_ring_t *r,
    ngx_slab_pool_t *shpool);
void ngx_webrtc_ring_free_locked(ngx_webrtc_ring_t *r,
    ngx_slab_pool_t *shpool);
uint64_t ngx_webrtc_ring_write(ngx_webrtc_ring_t *r, ngx_webrtc_slot_t *in,
    u_char *data);
ngx_int_t ngx_webrtc_ring_read(ngx_webrtc_ring_t *r, uint64_t idx,
    ngx_webrtc_slot_t *copy);

ngx_int_t ngx_webrtc_mring_init_locked(ngx_webrtc_mring_t *mr,
    ngx_slab_pool_t *shpool);
void ngx_webrtc_mring_free_locked(ngx_webrtc_mring_t *mr,
    ngx_slab_pool_t *shpool);
void ngx_webrtc_mring_write_locked(ngx_webrtc_mring_t *mr,
    ngx_webrtc_msg_t *msg, ngx_str_t *label, u_char *data);
ngx_int_t ngx_webrtc_mring_read(ngx_webrtc_mring_t *mr, uint64_t *cursor,
    u_char *buf);
uint64_t ngx_webrtc_mring_resume(ngx_webrtc_mring_t *mr, uint64_t id);


#endif /* _NGX_WEBRTC_RING_H_INCLUDED_ */
