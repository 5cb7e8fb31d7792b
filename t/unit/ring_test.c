/*
 * Copyright (C) nginx WebRTC module authors
 *
 * Unit tests of the message ring (ngx_webrtc_ring.c), TAP output.  The
 * ring gets its memory from the allocator below, with guard bytes on both
 * sides, so that a write past either end shows without ASan's help.
 */


#include <stdlib.h>
#include <signal.h>
#include <sys/time.h>

#include "ngx_webrtc_ring.h"

#include "tap.h"


#define GUARD              64
#define OLD_BYTE           0xa5          /* guards and unused ring */
#define HDR                sizeof(ngx_webrtc_msg_t)
#define FILL               4096          /* a filler record's size */
#define ID_MAX             (1 << 16)
#define INTERRUPTED_MSGS   3000
#define INTERRUPTED_LEN    65536         /* their data: up to this */


static uint32_t             lens[ID_MAX];     /* id -> data length */
static u_char               out[NGX_WEBRTC_MSG_MAX];
static u_char               in[NGX_WEBRTC_MSG_MAX];
static ngx_webrtc_mring_t  *ring;             /* the signal's writer's */
static volatile uint64_t    reader_at;


/* the ring's only allocator here: ngx_webrtc_mring_init_locked() calls it */

void *
ngx_slab_alloc_locked(ngx_slab_pool_t *pool, size_t size)
{
    u_char  *p;

    p = malloc(size + 2 * GUARD);
    if (p == NULL) {
        printf("Bail out! no memory\n");
        exit(2);
    }

    memset(p, OLD_BYTE, size + 2 * GUARD);

    return p + GUARD;
}


void
ngx_slab_free_locked(ngx_slab_pool_t *pool, void *p)
{
    free((u_char *) p - GUARD);
}


static int
guards_intact(ngx_webrtc_mring_t *mr)
{
    size_t  i;

    for (i = 0; i < GUARD; i++) {
        if (mr->data[-1 - (ssize_t) i] != OLD_BYTE
            || mr->data[NGX_WEBRTC_MRING_SIZE + i] != OLD_BYTE)
        {
            return 0;
        }
    }

    return 1;
}


static u_char
label_byte(uint64_t id, size_t i)
{
    return (u_char) ('a' + (id + i) % 26);
}


static u_char
data_byte(uint64_t id, size_t i)
{
    return (u_char) (id * 13 + i * 7);
}


/* message id (the next one) with len data bytes; returns its record size */

static size_t
put(ngx_webrtc_mring_t *mr, size_t len)
{
    size_t            i;
    uint64_t          id;
    ngx_str_t         label;
    ngx_webrtc_msg_t  msg;

    id = mr->next_id + 1;

    label.len = id % 8;
    label.data = out;

    for (i = 0; i < label.len; i++) {
        out[i] = label_byte(id, i);
    }

    for (i = 0; i < len; i++) {
        out[label.len + i] = data_byte(id, i);
    }

    lens[id % ID_MAX] = (uint32_t) len;

    memset(&msg, 0, sizeof(ngx_webrtc_msg_t));
    msg.len = (uint32_t) len;

    ngx_webrtc_mring_write_locked(mr, &msg, &label, out + label.len);

    return ngx_align(HDR + label.len + len, 8);
}


/* a record of exactly size bytes (8-aligned, at least HDR + 8) */

static void
put_size(ngx_webrtc_mring_t *mr, size_t size)
{
    (void) put(mr, size - HDR - (mr->next_id + 1) % 8);
}


/* a message as put() wrote it */

static int
valid(u_char *buf, uint64_t id)
{
    u_char            *p;
    size_t             i;
    ngx_webrtc_msg_t  *msg;

    msg = (ngx_webrtc_msg_t *) buf;

    if (msg->id != id || msg->label_len != id % 8
        || msg->len != lens[id % ID_MAX]
        || msg->size != ngx_align(HDR + msg->label_len + msg->len, 8))
    {
        return 0;
    }

    p = (u_char *) (msg + 1);

    for (i = 0; i < msg->label_len; i++) {
        if (p[i] != label_byte(id, i)) {
            return 0;
        }
    }

    p += msg->label_len;

    for (i = 0; i < msg->len; i++) {
        if (p[i] != data_byte(id, i)) {
            return 0;
        }
    }

    return 1;
}


/* reads all there is; counts what is not the next message, whole */

static unsigned
drain(ngx_webrtc_mring_t *mr, uint64_t *cursor, uint64_t *last)
{
    unsigned   bad;
    ngx_int_t  rc;

    bad = 0;

    for ( ;; ) {
        rc = ngx_webrtc_mring_read(mr, cursor, in);

        if (rc == NGX_DONE) {
            return bad + (*cursor != mr->write);
        }

        if (rc != NGX_OK || !valid(in, *last + 1)) {
            bad++;
            *cursor = mr->write;
            *last = mr->next_id;
            continue;
        }

        (*last)++;
    }
}


static void
ring_new(ngx_webrtc_mring_t *mr)
{
    memset(mr, 0, sizeof(ngx_webrtc_mring_t));

    if (ngx_webrtc_mring_init_locked(mr, NULL) != NGX_OK) {
        printf("Bail out! no ring\n");
        exit(2);
    }
}


/*
 * Records up to rem bytes before the end of the ring, then three that do
 * not fit there: a reader that keeps up and a reader that resumes after
 * the last message before the wrap both get every message, in order.
 */

static void
test_wrap(size_t rem)
{
    size_t              target;
    uint64_t            a, b, last_a, last_b, before;
    unsigned            bad;
    ngx_webrtc_mring_t  mr;

    ring_new(&mr);

    target = NGX_WEBRTC_MRING_SIZE - rem;
    a = 0;
    last_a = 0;
    bad = 0;

    while (target - mr.write > FILL + HDR) {
        put_size(&mr, FILL);
        bad += drain(&mr, &a, &last_a);
    }

    put_size(&mr, target - mr.write);
    bad += drain(&mr, &a, &last_a);

    before = mr.next_id;
    b = ngx_webrtc_mring_resume(&mr, before);
    last_b = before;

    ok(mr.write == target && b == target,
       "remainder %zu: written up to it, resume after id %lu there",
       rem, (unsigned long) before);

    put_size(&mr, rem + HDR + 8);
    bad += drain(&mr, &a, &last_a);

    ok(rem == 0 || mr.write == NGX_WEBRTC_MRING_SIZE + rem + HDR + 8,
       "remainder %zu: the record that does not fit starts the ring", rem);

    put_size(&mr, HDR + 8);
    bad += drain(&mr, &a, &last_a);
    (void) put(&mr, 1000);
    bad += drain(&mr, &a, &last_a);

    ok(guards_intact(&mr), "remainder %zu: nothing written outside", rem);

    ok(bad == 0 && last_a == mr.next_id,
       "remainder %zu: a reader that keeps up gets ids 1-%lu whole", rem,
       (unsigned long) mr.next_id);

    bad = drain(&mr, &b, &last_b);

    ok(bad == 0 && last_b == before + 3,
       "remainder %zu: a reader resumed at the wrap gets ids %lu-%lu", rem,
       (unsigned long) before + 1, (unsigned long) before + 3);

    ngx_webrtc_mring_free_locked(&mr, NULL);
}


/* a reader more than a ring behind: told so, then the newest messages */

static void
test_behind(void)
{
    uint64_t            cursor, last;
    ngx_int_t           rc;
    ngx_uint_t          i;
    ngx_webrtc_mring_t  mr;

    ring_new(&mr);

    cursor = 0;
    last = 0;

    for (i = 0; i < 3; i++) {
        (void) put(&mr, 100);
    }

    ok(drain(&mr, &cursor, &last) == 0 && last == 3, "reads ids 1-3");

    while (mr.write - cursor <= NGX_WEBRTC_MRING_SIZE) {
        (void) put(&mr, 3000 + mr.next_id % 100);
    }

    rc = ngx_webrtc_mring_read(&mr, &cursor, in);

    ok(rc == NGX_ABORT && cursor == mr.write,
       "a reader a ring behind is told, its cursor at the end");

    ok(ngx_webrtc_mring_resume(&mr, 3) == mr.write,
       "resume after an overwritten id: at the end");

    (void) put(&mr, 10);
    rc = ngx_webrtc_mring_read(&mr, &cursor, in);

    ok(rc == NGX_OK && valid(in, mr.next_id) && mr.next_id - last > 1,
       "then reads id %lu: the gap after id %lu shows",
       (unsigned long) mr.next_id, (unsigned long) last);

    ngx_webrtc_mring_free_locked(&mr, NULL);
}


/* the writer, from a timer signal: it interrupts the reader anywhere */

static void
writer(int signo)
{
    if (ring->write - reader_at < NGX_WEBRTC_MRING_SIZE) {
        (void) put(ring, (ring->next_id * 2654435761u >> 7) % INTERRUPTED_LEN);
    }
}


/*
 * A lock-free reader interrupted by a writer about a ring ahead, which
 * overwrites what the reader is copying: every message the reader gets
 * is whole and in order, or it is told that it fell behind.
 */

static void
test_interrupted(void)
{
    uint64_t            cursor, last, id;
    unsigned            got, lost, bad, behind;
    ngx_int_t           rc;
    struct itimerval    it;
    ngx_webrtc_mring_t  mr;

    ring_new(&mr);
    ring = &mr;

    cursor = 0;
    last = 0;
    got = 0;
    lost = 0;
    bad = 0;
    behind = 0;
    reader_at = 0;

    signal(SIGALRM, writer);

    memset(&it, 0, sizeof(struct itimerval));
    it.it_interval.tv_usec = 20;
    it.it_value.tv_usec = 20;
    setitimer(ITIMER_REAL, &it, NULL);

    while (mr.next_id < INTERRUPTED_MSGS) {
        rc = ngx_webrtc_mring_read(&mr, &cursor, in);

        if (rc == NGX_OK) {
            got++;
            id = ((ngx_webrtc_msg_t *) in)->id;

            /* after a gap: any later id */
            if (id <= last || (!behind && id != last + 1) || !valid(in, id)) {
                bad++;
            }

            last = id;
            behind = 0;

        } else if (rc == NGX_ABORT) {
            lost++;
            behind = 1;
        }

        reader_at = cursor;
    }

    memset(&it, 0, sizeof(struct itimerval));
    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_DFL);

    ok(bad == 0 && got > 0 && lost > 0,
       "interrupted: %u messages whole and in order, fell behind %u times",
       got, lost);

    ngx_webrtc_mring_free_locked(&mr, NULL);
}


int
main(void)
{
    size_t  rem;

    for (rem = 0; rem <= HDR + 32; rem += 8) {
        test_wrap(rem);
    }

    test_behind();
    test_interrupted();

    return done_testing();
}
