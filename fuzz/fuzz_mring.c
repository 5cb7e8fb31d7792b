/*
 * Copyright (C) nginx WebRTC module authors
 *
 * libFuzzer target for the message ring of ngx_webrtc_ring.c.  The input
 * is a program: writes of any data and label length, reads by four
 * readers each at its own pace, resumes at any id.  A model of where each
 * record went says what every call must return: a reader gets exactly
 * the next message, whole, or is told it fell more than a ring behind;
 * resume finds exactly the ids still in the ring.  The ring and the read
 * buffer are allocated to their exact sizes, so ASan sees any byte read
 * or written outside them.
 *
 *   0 or 1, len (3 bytes), label length    a write
 *   2, n                                   reader n % 4 reads n / 4 + 1
 *   3, n, back (2 bytes)                   reader n % 4 resumes after the
 *                                          id back before the last (back
 *                                          past the first: a wrong id)
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_webrtc_ring.h"


#define check(cond)  do { if (!(cond)) __builtin_trap(); } while (0)

#define READERS      4
#define IDS_MAX      4096                     /* writes per input */
#define HDR          sizeof(ngx_webrtc_msg_t)


typedef struct {
    uint64_t                    cursor;
    uint64_t                    next;         /* the id it must read next */
} reader_t;


static ngx_webrtc_mring_t  mr;
static u_char             *ring;
static u_char             *buf;               /* NGX_WEBRTC_MSG_MAX bytes */
static u_char             *pattern;           /* labels and data */
static uint64_t            pos[IDS_MAX];      /* id -> record position */
static size_t              sizes[IDS_MAX];    /* id -> record size */
static reader_t            readers[READERS];


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    size_t  i, n;

    check(ngx_webrtc_mring_init_locked(&mr, NULL) == NGX_OK);
    ring = mr.data;

    buf = malloc(NGX_WEBRTC_MSG_MAX);
    n = NGX_WEBRTC_DC_MESSAGE_MAX + 256;
    pattern = malloc(n);
    check(buf != NULL && pattern != NULL);

    for (i = 0; i < n; i++) {
        pattern[i] = (u_char) (i * 131 + (i >> 8) * 7 + 1);
    }

    return 0;
}


/* message id's label and data: the pattern from an offset of its own */

static u_char *
label_of(uint64_t id)
{
    return pattern + id % 97;
}


static u_char *
data_of(uint64_t id)
{
    return pattern + id % 251;
}


static void
put(size_t len, size_t label_len)
{
    size_t            size, room;
    uint64_t          id, at;
    ngx_str_t         label;
    ngx_webrtc_msg_t  msg;

    id = mr.next_id + 1;

    memset(&msg, 0, sizeof(ngx_webrtc_msg_t));
    msg.len = (uint32_t) len;
    msg.binary = (uint8_t) (id & 1);
    msg.origin = (uint8_t) (id % 4);
    memcpy(msg.origin_id, &id, 8);

    label.len = label_len;
    label.data = label_of(id);

    /* records never wrap: one that does not fit starts the ring */
    size = ngx_align(HDR + label_len + len, 8);
    room = NGX_WEBRTC_MRING_SIZE - mr.write % NGX_WEBRTC_MRING_SIZE;
    at = mr.write + (room < size ? room : 0);

    ngx_webrtc_mring_write_locked(&mr, &msg, &label, data_of(id));

    check(mr.next_id == id && mr.write == at + size);

    pos[id] = at;
    sizes[id] = size;
}


/* a message read must be message id as put() wrote it */

static void
check_msg(uint64_t id)
{
    u_char            *p;
    ngx_webrtc_msg_t  *msg;

    msg = (ngx_webrtc_msg_t *) buf;

    check(msg->id == id && msg->binary == (id & 1)
          && msg->origin == id % 4 && memcmp(msg->origin_id, &id, 8) == 0
          && msg->label_len <= NGX_WEBRTC_LABEL_MAX
          && msg->len <= NGX_WEBRTC_DC_MESSAGE_MAX
          && msg->size == ngx_align(HDR + msg->label_len + msg->len, 8));

    p = (u_char *) (msg + 1);

    check(memcmp(p, label_of(id), msg->label_len) == 0
          && memcmp(p + msg->label_len, data_of(id), msg->len) == 0);
}


static void
read_one(reader_t *r)
{
    uint64_t   before, end;
    ngx_int_t  rc;

    before = r->cursor;
    end = mr.write;

    rc = ngx_webrtc_mring_read(&mr, &r->cursor, buf);

    if (end - before > NGX_WEBRTC_MRING_SIZE) {
        /* lost: from the end on */
        check(rc == NGX_ABORT && r->cursor == end);
        r->next = mr.next_id + 1;
        return;
    }

    if (r->next > mr.next_id) {
        check(rc == NGX_DONE && r->cursor == end);
        return;
    }

    check(rc == NGX_OK);
    check_msg(r->next);
    check(r->cursor == pos[r->next] + sizes[r->next]);

    r->next++;
}


static void
resume(reader_t *r, uint64_t back)
{
    uint64_t  id, end, cursor;

    id = mr.next_id - back;
    end = mr.write;

    cursor = ngx_webrtc_mring_resume(&mr, id);

    /* in the ring, and the last of its ids[] slot */
    if (id >= 1 && id <= mr.next_id && back < NGX_WEBRTC_MRING_IDS
        && end - pos[id] <= NGX_WEBRTC_MRING_SIZE)
    {
        check(cursor == pos[id] + sizes[id]);
        r->next = id + 1;

    } else {
        check(cursor == end);
        r->next = mr.next_id + 1;
    }

    r->cursor = cursor;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t         len, n;
    reader_t      *r;
    const u_char  *p, *last;

    /* a fresh ring; its bytes are whatever the last input left */
    memset(&mr, 0, sizeof(ngx_webrtc_mring_t));
    mr.data = ring;
    memset(readers, 0, sizeof(readers));

    for (n = 0; n < READERS; n++) {
        readers[n].next = 1;
    }

    p = data;
    last = data + size;

    while (p < last) {
        switch (*p++ % 4) {

        case 0:
        case 1:
            if (last - p < 4 || mr.next_id + 1 >= IDS_MAX) {
                return 0;
            }

            len = ((size_t) p[0] << 16 | p[1] << 8 | p[2])
                  % (NGX_WEBRTC_DC_MESSAGE_MAX + 1);
            put(len, p[3] % (NGX_WEBRTC_LABEL_MAX + 1));
            p += 4;
            break;

        case 2:
            if (last - p < 1) {
                return 0;
            }

            r = &readers[*p % READERS];

            for (n = *p / READERS + 1; n; n--) {
                read_one(r);
            }

            p++;
            break;

        default:
            if (last - p < 3) {
                return 0;
            }

            resume(&readers[p[0] % READERS], (uint64_t) p[1] << 8 | p[2]);
            p += 3;
            break;
        }
    }

    return 0;
}
