
/*
 * Copyright (C) nginx WebRTC module authors
 *
 * Unit tests of the numbering in ngx_webrtc_rtp.c, TAP output: a
 * publisher's packets into the stream's numbering (ngx_webrtc_renumber),
 * and the stream's numbers to a viewer's SRTP index
 * (ngx_webrtc_out_index).  The SRTP index is the AES-GCM nonce (and the
 * AES-CM counter): two different payloads must never get the same one.
 * Every packet fed in is taken as a payload of its own (a publisher may
 * send anything twice under one sequence number); a retransmission
 * resends a packet the stream kept.
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_webrtc_rtp.h"

#include "tap.h"


#define WRITTEN_MAX   (1 << 20)
#define HASH_SIZE     (1 << 22)     /* a power of 2, > 2 * WRITTEN_MAX */
#define VIEWERS       2


/* a packet the stream kept: its number and the payload it carries */
typedef struct {
    uint64_t                index;
    unsigned                id;
} written_t;


/* what an SRTP index was used for, per viewer */
typedef struct {
    uint64_t                out;
    unsigned                id;     /* 0: free */
} used_t;


typedef struct {
    ngx_webrtc_out_index_t  o;
    int                     started;
    unsigned                from;   /* the first packet it may get */
    uint64_t                max;    /* highest index sent + 1 */
    used_t                 *used;
    unsigned                sent;
} viewer_t;


static ngx_webrtc_renumber_t  rn;
static written_t              written[WRITTEN_MAX];
static unsigned               nwritten;
static unsigned               ids;
static unsigned               dropped;
static viewer_t               viewers[VIEWERS];

/* what went wrong in the current scenario */
static unsigned               reused;     /* one index, two payloads */
static unsigned               stream_reused;
static unsigned               unestimable;  /* receiver misreads the ROC */
static unsigned               not_monotonic;
static uint64_t               stream_max;   /* highest stream index + 1 */


static used_t *
used_find(used_t *used, uint64_t out)
{
    size_t  h;

    h = (size_t) ((out * 0x9e3779b97f4a7c15ULL) >> 40) & (HASH_SIZE - 1);

    while (used[h].id && used[h].out != out) {
        h = (h + 1) & (HASH_SIZE - 1);
    }

    return &used[h];
}


static void
scenario(void)
{
    int  v;

    memset(&rn, 0, sizeof(rn));
    nwritten = 0;
    ids = 0;
    dropped = 0;
    reused = 0;
    stream_reused = 0;
    unestimable = 0;
    not_monotonic = 0;
    stream_max = 0;

    for (v = 0; v < VIEWERS; v++) {
        memset(viewers[v].used, 0, HASH_SIZE * sizeof(used_t));
        memset(&viewers[v].o, 0, sizeof(ngx_webrtc_out_index_t));
        viewers[v].started = 0;
        viewers[v].from = 0;
        viewers[v].max = 0;
        viewers[v].sent = 0;
    }
}


/* one packet of the stream to a viewer, as the server would send it */

static void
send_to(viewer_t *vw, written_t *w, int resend)
{
    uint64_t  out;
    used_t   *u;

    if (!vw->started) {
        if (resend || w - written < (long) vw->from) {
            return;
        }

        /* the server's choice: a first sequence number below 2^15 */
        ngx_webrtc_out_index_start(&vw->o, w->index, 1000);
        vw->started = 1;
    }

    out = ngx_webrtc_out_index(&vw->o, w->index, resend);
    if (out == NGX_WEBRTC_INDEX_NONE) {
        return;
    }

    /* the receiver tells the ROC from the 16-bit sequence number */
    if (vw->max
        && (out + 32768 <= vw->max - 1 || out >= vw->max - 1 + 32768))
    {
        unestimable++;
    }

    if (out + 1 > vw->max) {
        vw->max = out + 1;
    }

    u = used_find(vw->used, out);

    if (u->id && u->id != w->id) {
        reused++;
    }

    u->out = out;
    u->id = w->id;
    vw->sent++;
}


/* the publisher sends a packet (a payload of its own) */

static void
pub(uint32_t ssrc, uint16_t seq)
{
    int        v;
    unsigned   i;
    uint64_t   index;
    written_t *w;

    index = ngx_webrtc_renumber(&rn, ssrc, seq);
    ids++;

    if (index == NGX_WEBRTC_INDEX_NONE) {
        dropped++;
        return;
    }

    /* new packets only ever go forward; late ones only into gaps */
    if (index < stream_max) {
        for (i = nwritten; i > 0 && i + 4096 > nwritten; i--) {
            if (written[i - 1].index == index) {
                stream_reused++;
            }
        }

        if (stream_max - index > 64) {
            not_monotonic++;
        }

    } else {
        stream_max = index + 1;
    }

    w = &written[nwritten++];
    w->index = index;
    w->id = ids;

    for (v = 0; v < VIEWERS; v++) {
        send_to(&viewers[v], w, 0);
    }
}


/* a viewer's NACK: the stream resends a packet it kept, back < 2048 */

static void
resend(int v, unsigned back)
{
    if (back < nwritten) {
        send_to(&viewers[v], &written[nwritten - 1 - back], 1);
    }
}


static void
check(const char *name)
{
    ok(reused == 0 && stream_reused == 0,
       "%s: no SRTP index for two payloads (viewers %u, stream %u)",
       name, reused, stream_reused);
    ok(unestimable == 0,
       "%s: every index within 2^15 of the receiver's highest (%u not)",
       name, unestimable);
    ok(not_monotonic == 0,
       "%s: new packets numbered forward (%u backwards)",
       name, not_monotonic);
}


static void
test_wrap(void)
{
    unsigned  i, jumps;
    uint64_t  last, out;

    scenario();

    jumps = 0;
    last = 0;

    for (i = 0; i < 3000; i++) {
        pub(0x1111, (uint16_t) (64000 + i));

        out = viewers[0].max - 1;
        jumps += (i && out != last + 1);
        last = out;
    }

    check("in order across a wrap");
    ok(dropped == 0 && jumps == 0,
       "in order across a wrap: nothing dropped, indexes consecutive");
    ok(viewers[0].max - 1 == 1000 + 2999 && (viewers[0].max - 1) >> 16 == 0,
       "viewer: its own first sequence number, ROC 0");

    /* 70,000 packets: the viewer's own numbering wraps too */
    for (i = 3000; i < 73000; i++) {
        pub(0x1111, (uint16_t) (64000 + i));
    }

    ok(viewers[0].max - 1 == 1000 + 72999,
       "viewer: index %llu after 73,000 packets (ROC %llu)",
       (unsigned long long) (viewers[0].max - 1),
       (unsigned long long) ((viewers[0].max - 1) >> 16));
    check("70,000 in order");
}


static void
test_source_change(void)
{
    unsigned  i;

    scenario();

    for (i = 100; i < 200; i++) {
        pub(0xaaaa, (uint16_t) i);
    }

    /* a new source, then packets of it from before its first */
    for (i = 5000; i < 5010; i++) {
        pub(0xbbbb, (uint16_t) i);
    }

    for (i = 4990; i < 5000; i++) {
        pub(0xbbbb, (uint16_t) i);
    }

    for (i = 5010; i < 5020; i++) {
        pub(0xbbbb, (uint16_t) i);
    }

    for (i = 0; i < 40; i++) {
        resend(0, i);
    }

    check("source change with late packets");

    /* a takeover: a new publisher, the same SSRC and sequence numbers */
    rn.source = 0;

    for (i = 100; i < 200; i++) {
        pub(0xaaaa, (uint16_t) i);
    }

    for (i = 0; i < 150; i++) {
        resend(1, i);
    }

    check("takeover with the same SSRC and numbers");

    /* two sources on one track, alternating, each with late packets */
    for (i = 0; i < 2000; i++) {
        pub((i & 1) ? 0xcccc : 0xdddd, (uint16_t) (300 + i / 2));

        if (i % 7 == 0) {
            pub((i & 1) ? 0xcccc : 0xdddd, (uint16_t) (300 + i / 2 - 3));
        }
    }

    check("two sources alternating");
}


static void
test_late(void)
{
    static const uint16_t  seqs[] = { 1, 2, 4, 3, 5, 8, 6, 7, 9, 12, 10 };
    unsigned               i;

    scenario();

    for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        pub(0x2222, seqs[i]);
    }

    check("reordered packets");
    ok(dropped == 0 && viewers[0].sent == i,
       "reordered packets: all kept and sent (%u dropped)", dropped);

    /* one sequence number twice, then once more after a while */
    pub(0x2222, 13);
    pub(0x2222, 13);

    for (i = 14; i < 200; i++) {
        pub(0x2222, (uint16_t) i);
    }

    pub(0x2222, 13);

    check("duplicates");
    ok(dropped == 2, "duplicates: dropped (%u)", dropped);
}


static void
test_jumps(void)
{
    unsigned  i;
    uint16_t  seq;

    scenario();

    /* past 2^15 first, so that a step back of 2^15 lands on a used one */
    for (i = 0; i < 40000; i++) {
        pub(0x3333, (uint16_t) i);
    }

    /* exactly 32768 after the last packet, and on from there */
    seq = (uint16_t) (39999 + 32768);

    for (i = 0; i < 100; i++) {
        pub(0x3333, (uint16_t) (seq + i));
    }

    /* exactly 32768 after the next expected one */
    pub(0x3333, (uint16_t) (seq + 100 + 32768));

    /* the old numbers again */
    for (i = 40000; i < 40100; i++) {
        pub(0x3333, (uint16_t) i);
    }

    for (i = 0; i < 300; i++) {
        resend(0, i);
    }

    check("jumps of exactly 32768");

    /* a jump of 20000, then back */
    seq = (uint16_t) (40100 + 20000);

    for (i = 0; i < 100; i++) {
        pub(0x3333, (uint16_t) (seq + i));
    }

    for (i = 40100; i < 40200; i++) {
        pub(0x3333, (uint16_t) i);
    }

    for (i = 0; i < 300; i++) {
        resend(1, i);
    }

    check("a jump of 20000 and back");
}


static void
test_random(void)
{
    int       op, v;
    unsigned  i, k;
    uint16_t  seqs[3];
    uint32_t  ssrcs[3] = { 0x4444, 0x5555, 0x6666 };

    scenario();

    srand(7);
    seqs[0] = 65000;
    seqs[1] = 1;
    seqs[2] = 32768;
    k = 0;

    /* the second viewer joins half-way */
    viewers[1].from = 100000;

    for (i = 0; i < 200000; i++) {
        op = rand() % 100;

        if (op < 70) {
            pub(ssrcs[k], seqs[k]++);

        } else if (op < 78) {
            seqs[k] += 1 + rand() % 100;           /* loss */
            pub(ssrcs[k], seqs[k]++);

        } else if (op < 86) {
            pub(ssrcs[k], (uint16_t) (seqs[k] - 1 - rand() % 100));

        } else if (op < 88) {
            pub(ssrcs[k], (uint16_t) (seqs[k] - 1));          /* again */

        } else if (op < 89) {
            seqs[k] += (rand() & 1) ? 32768 : rand() % 65536;

        } else if (op < 91) {
            k = rand() % 3;                        /* another source */

        } else if (op < 92) {
            rn.source = 0;                         /* a takeover */

        } else {
            v = rand() % VIEWERS;
            resend(v, rand() % 2048);
        }
    }

    check("200,000 random packets");
    ok(viewers[0].sent > 100000 && viewers[1].sent > 30000,
       "random: %u packets, %u dropped; viewers sent %u and %u",
       ids, dropped, viewers[0].sent, viewers[1].sent);
}


int
main(void)
{
    int  v;

    for (v = 0; v < VIEWERS; v++) {
        viewers[v].used = calloc(HASH_SIZE, sizeof(used_t));
        if (viewers[v].used == NULL) {
            return 1;
        }
    }

    test_wrap();
    test_source_change();
    test_late();
    test_jumps();
    test_random();

    for (v = 0; v < VIEWERS; v++) {
        free(viewers[v].used);
    }

    return done_testing();
}
