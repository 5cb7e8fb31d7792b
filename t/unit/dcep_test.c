/*
 * Copyright (C) nginx WebRTC module authors
 *
 * Unit tests of ngx_webrtc_dcep.c, TAP output.  The DCEP messages are what
 * Chromium 156 (dcSCTP) sent, taken from its SCTP packet log by
 * t/data/dcep/capture.js.
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_webrtc_dcep.h"

#include "tap.h"


#define S(s)  { sizeof(s) - 1, (u_char *) s }


/* createDataChannel('chat') */
static u_char  chrome_chat[] = {
    0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x04, 0x00, 0x00, 'c', 'h', 'a', 't'
};

/* ('json-events', {ordered: false, maxRetransmits: 3, protocol: 'json'}) */
static u_char  chrome_rexmit[] = {
    0x03, 0x81, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03,
    0x00, 0x0b, 0x00, 0x04,
    'j', 's', 'o', 'n', '-', 'e', 'v', 'e', 'n', 't', 's',
    'j', 's', 'o', 'n'
};

/* ('timed', {maxPacketLifeTime: 1500}) */
static u_char  chrome_timed[] = {
    0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x05, 0xdc,
    0x00, 0x05, 0x00, 0x00, 't', 'i', 'm', 'e', 'd'
};

/* ('', {ordered: false}) */
static u_char  chrome_empty[] = {
    0x03, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00
};


typedef struct {
    const char                 *name;
    u_char                     *msg;
    size_t                      len;
} vector_t;


static vector_t  vectors[] = {
    { "chat", chrome_chat, sizeof(chrome_chat) },
    { "rexmit", chrome_rexmit, sizeof(chrome_rexmit) },
    { "timed", chrome_timed, sizeof(chrome_timed) },
    { "empty label", chrome_empty, sizeof(chrome_empty) },
};


/* parses a copy of exactly len bytes, so ASan sees any over-read */
static int
parse(ngx_webrtc_dcep_t *d, u_char *p, size_t len)
{
    int      rc;
    u_char  *copy;

    copy = malloc(len ? len : 1);
    memcpy(copy, p, len);
    rc = ngx_webrtc_dcep_parse(d, copy, len);
    free(copy);

    /* the strings pointed into the copy: do not use them after this */
    d->label.data = NULL;
    d->protocol.data = NULL;

    return rc;
}


static int
str_eq(ngx_webrtc_str_t *s, const char *v)
{
    return s->len == strlen(v) && memcmp(s->data, v, s->len) == 0;
}


static void
test_parse(void)
{
    size_t             i, n;
    u_char             bad[64], ack[2];
    unsigned           ct, all;
    ngx_webrtc_dcep_t  d;

    ok(ngx_webrtc_dcep_parse(&d, chrome_chat, sizeof(chrome_chat)) == 0
       && d.type == NGX_WEBRTC_DCEP_OPEN
       && d.channel_type == NGX_WEBRTC_DCEP_RELIABLE
       && d.priority == 256 && d.reliability == 0
       && str_eq(&d.label, "chat") && str_eq(&d.protocol, ""),
       "parse: chromium reliable 'chat'");

    ok(ngx_webrtc_dcep_parse(&d, chrome_rexmit, sizeof(chrome_rexmit)) == 0
       && d.channel_type == NGX_WEBRTC_DCEP_REXMIT_UNORDERED
       && d.priority == 256 && d.reliability == 3
       && str_eq(&d.label, "json-events") && str_eq(&d.protocol, "json"),
       "parse: chromium unordered, 3 retransmits, protocol");

    ok(ngx_webrtc_dcep_parse(&d, chrome_timed, sizeof(chrome_timed)) == 0
       && d.channel_type == NGX_WEBRTC_DCEP_TIMED && d.reliability == 1500
       && str_eq(&d.label, "timed") && d.protocol.len == 0,
       "parse: chromium lifetime 1500 ms");

    ok(ngx_webrtc_dcep_parse(&d, chrome_empty, sizeof(chrome_empty)) == 0
       && d.channel_type == NGX_WEBRTC_DCEP_RELIABLE_UNORDERED
       && d.label.len == 0 && d.protocol.len == 0,
       "parse: chromium empty label, unordered");

    ack[0] = 0x02;
    ack[1] = 0x00;

    ok(parse(&d, ack, 1) == 0 && d.type == NGX_WEBRTC_DCEP_ACK
       && d.label.len == 0 && d.protocol.len == 0 && d.reliability == 0,
       "parse: ack");
    ok(parse(&d, ack, 2) == -1, "parse: ack with a trailing byte refused");
    ok(parse(&d, ack, 0) == -1, "parse: empty message refused");

    for (all = 1, i = 0; i < 256; i++) {
        if (i == NGX_WEBRTC_DCEP_ACK || i == NGX_WEBRTC_DCEP_OPEN) {
            continue;
        }

        memcpy(bad, chrome_chat, sizeof(chrome_chat));
        bad[0] = (u_char) i;

        if (parse(&d, bad, sizeof(chrome_chat)) != -1
            || parse(&d, bad, 1) != -1)
        {
            all = 0;
        }
    }

    ok(all, "parse: other message types refused");

    for (all = 1, ct = 0; ct < 256; ct++) {
        memcpy(bad, chrome_chat, sizeof(chrome_chat));
        bad[1] = (u_char) ct;

        if ((parse(&d, bad, sizeof(chrome_chat)) == 0)
            != ((ct & 0x7f) <= 2))
        {
            all = 0;
        }
    }

    ok(all, "parse: exactly the six channel types of RFC 8832 8.2.2");

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        for (all = 1, n = 0; n < vectors[i].len; n++) {
            if (parse(&d, vectors[i].msg, n) != -1) {
                all = 0;
            }
        }

        ok(all, "parse: every truncation of '%s' refused", vectors[i].name);

        memcpy(bad, vectors[i].msg, vectors[i].len);
        bad[vectors[i].len] = 'x';

        ok(parse(&d, bad, vectors[i].len + 1) == -1,
           "parse: '%s' with a trailing byte refused", vectors[i].name);
    }

    memcpy(bad, chrome_rexmit, sizeof(chrome_rexmit));
    bad[9]++;
    ok(parse(&d, bad, sizeof(chrome_rexmit)) == -1,
       "parse: label length past the end refused");

    memcpy(bad, chrome_rexmit, sizeof(chrome_rexmit));
    bad[11]++;
    ok(parse(&d, bad, sizeof(chrome_rexmit)) == -1,
       "parse: protocol length past the end refused");

    memcpy(bad, chrome_rexmit, sizeof(chrome_rexmit));
    bad[8] = 0xff;
    bad[9] = 0xff;
    bad[10] = 0xff;
    bad[11] = 0xff;
    ok(parse(&d, bad, sizeof(chrome_rexmit)) == -1,
       "parse: 0xffff lengths refused");

    memcpy(bad, chrome_rexmit, sizeof(chrome_rexmit));
    bad[9]--;
    ok(parse(&d, bad, sizeof(chrome_rexmit)) == -1,
       "parse: lengths short of the end refused");

    /* RFC 8832 5.1: ignored for reliable channels */
    memcpy(bad, chrome_chat, sizeof(chrome_chat));
    bad[7] = 9;
    ok(parse(&d, bad, sizeof(chrome_chat)) == 0 && d.reliability == 0,
       "parse: reliability of a reliable channel read as 0");
}


static void
test_write(void)
{
    u_char             buf[128], ref[128], *big, *out;
    size_t             n, i, len;
    unsigned           all;
    ngx_webrtc_dcep_t  d;
    ngx_webrtc_str_t   label = S("json-events"), protocol = S("json");
    ngx_webrtc_str_t   chat = S("chat"), timed = S("timed"), huge;

    static uint8_t  types[] = {
        NGX_WEBRTC_DCEP_RELIABLE, NGX_WEBRTC_DCEP_RELIABLE_UNORDERED,
        NGX_WEBRTC_DCEP_REXMIT, NGX_WEBRTC_DCEP_REXMIT_UNORDERED,
        NGX_WEBRTC_DCEP_TIMED, NGX_WEBRTC_DCEP_TIMED_UNORDERED
    };

    n = ngx_webrtc_dcep_write_open(buf, sizeof(buf), 0x00, 256, 0, &chat,
                                   NULL);
    ok(n == sizeof(chrome_chat) && memcmp(buf, chrome_chat, n) == 0,
       "write: the bytes chromium sends for 'chat'");

    n = ngx_webrtc_dcep_write_open(buf, sizeof(buf), 0x81, 256, 3, &label,
                                   &protocol);
    ok(n == sizeof(chrome_rexmit) && memcmp(buf, chrome_rexmit, n) == 0,
       "write: the bytes chromium sends for 'json-events'");

    n = ngx_webrtc_dcep_write_open(buf, sizeof(buf), 0x02, 256, 1500, &timed,
                                   NULL);
    ok(n == sizeof(chrome_timed) && memcmp(buf, chrome_timed, n) == 0,
       "write: the bytes chromium sends for 'timed'");

    n = ngx_webrtc_dcep_write_open(buf, sizeof(buf), 0x80, 256, 0, NULL,
                                   NULL);
    ok(n == sizeof(chrome_empty) && memcmp(buf, chrome_empty, n) == 0,
       "write: the bytes chromium sends for an empty label");

    for (i = 0; i < sizeof(types); i++) {
        n = ngx_webrtc_dcep_write_open(buf, sizeof(buf), types[i],
                                       (uint16_t) (128 << i), 77, &label,
                                       &protocol);

        ok(n == NGX_WEBRTC_DCEP_OPEN_SIZE + 15
           && ngx_webrtc_dcep_parse(&d, buf, n) == 0
           && d.type == NGX_WEBRTC_DCEP_OPEN && d.channel_type == types[i]
           && d.priority == (128 << i)
           && d.reliability == ((types[i] & 0x7f) ? 77 : 0)
           && str_eq(&d.label, "json-events")
           && str_eq(&d.protocol, "json"),
           "write: round trip of channel type 0x%02x", types[i]);
    }

    ok(ngx_webrtc_dcep_ordered(0x00) && ngx_webrtc_dcep_ordered(0x01)
       && ngx_webrtc_dcep_ordered(0x02) && !ngx_webrtc_dcep_ordered(0x80)
       && !ngx_webrtc_dcep_ordered(0x81) && !ngx_webrtc_dcep_ordered(0x82),
       "types: ordered");
    ok(!ngx_webrtc_dcep_rexmit(0x00) && ngx_webrtc_dcep_rexmit(0x01)
       && !ngx_webrtc_dcep_rexmit(0x02) && !ngx_webrtc_dcep_rexmit(0x80)
       && ngx_webrtc_dcep_rexmit(0x81) && !ngx_webrtc_dcep_rexmit(0x82),
       "types: rexmit");
    ok(!ngx_webrtc_dcep_timed(0x00) && !ngx_webrtc_dcep_timed(0x01)
       && ngx_webrtc_dcep_timed(0x02) && !ngx_webrtc_dcep_timed(0x80)
       && !ngx_webrtc_dcep_timed(0x81) && ngx_webrtc_dcep_timed(0x82),
       "types: timed");

    len = sizeof(chrome_rexmit);

    for (all = 1, n = 0; n < len; n++) {
        memset(ref, 0xee, sizeof(ref));
        memcpy(buf, ref, sizeof(buf));

        if (ngx_webrtc_dcep_write_open(buf, n, 0x81, 256, 3, &label,
                                       &protocol) != 0
            || memcmp(buf, ref, sizeof(buf)) != 0)
        {
            all = 0;
        }
    }

    ok(all, "write: every short buffer refused, untouched");

    ok(ngx_webrtc_dcep_write_open(buf, len, 0x81, 256, 3, &label, &protocol)
       == len, "write: a buffer of exactly the size");

    ok(ngx_webrtc_dcep_write_open(buf, sizeof(buf), 0x03, 0, 0, NULL, NULL)
       == 0
       && ngx_webrtc_dcep_write_open(buf, sizeof(buf), 0x83, 0, 0, NULL,
                                     NULL) == 0,
       "write: unknown channel types refused");

    len = 2 * 65536 + NGX_WEBRTC_DCEP_OPEN_SIZE;
    big = calloc(1, len);
    out = calloc(1, len);
    huge.data = big;
    huge.len = 65536;

    ok(ngx_webrtc_dcep_write_open(out, len, 0, 0, 0, &huge, NULL) == 0
       && ngx_webrtc_dcep_write_open(out, len, 0, 0, 0, NULL, &huge) == 0,
       "write: a string over 65535 refused");

    huge.len = 65535;
    n = ngx_webrtc_dcep_write_open(out, len, 0, 0, 0, &huge, &huge);
    ok(n == 2 * 65535 + NGX_WEBRTC_DCEP_OPEN_SIZE
       && ngx_webrtc_dcep_parse(&d, out, n) == 0
       && d.label.len == 65535 && d.protocol.len == 65535,
       "write: label and protocol of 65535 round trip");

    free(big);
    free(out);

    ok(ngx_webrtc_dcep_write_ack(buf, sizeof(buf)) == 1 && buf[0] == 0x02
       && ngx_webrtc_dcep_parse(&d, buf, 1) == 0
       && d.type == NGX_WEBRTC_DCEP_ACK, "write: ack");
    ok(ngx_webrtc_dcep_write_ack(buf, 0) == 0, "write: ack, no room");
}


static void
test_ppid(void)
{
    ok(ngx_webrtc_dc_kind(50) == -1, "ppid: 50 is DCEP, not a message");
    ok(ngx_webrtc_dc_kind(51) == 0 && ngx_webrtc_dc_kind(54) == 0
       && ngx_webrtc_dc_kind(56) == 0, "ppid: 51, 54, 56 text");
    ok(ngx_webrtc_dc_kind(53) == 1 && ngx_webrtc_dc_kind(52) == 1
       && ngx_webrtc_dc_kind(57) == 1, "ppid: 53, 52, 57 binary");
    ok(ngx_webrtc_dc_kind(0) == -1 && ngx_webrtc_dc_kind(55) == -1
       && ngx_webrtc_dc_kind(58) == -1 && ngx_webrtc_dc_kind(0x3300) == -1,
       "ppid: others are not messages");

    ok(ngx_webrtc_dc_empty(56) && ngx_webrtc_dc_empty(57)
       && !ngx_webrtc_dc_empty(51) && !ngx_webrtc_dc_empty(53),
       "ppid: empty markers");

    ok(ngx_webrtc_dc_ppid(0, 5) == 51 && ngx_webrtc_dc_ppid(1, 5) == 53
       && ngx_webrtc_dc_ppid(0, 0) == 56 && ngx_webrtc_dc_ppid(1, 0) == 57,
       "ppid: for sending");
}


/* writes into a buffer of exactly ngx_webrtc_sse_len() bytes */
#define SSE(id, label, data, len, binary, expect)                            \
    sse(id, label, data, len, binary, expect, sizeof(expect) - 1)


static int
sse(uint64_t id, const char *label, const char *data, size_t len, int binary,
    const char *expect, size_t expect_len)
{
    int               rc;
    u_char           *buf;
    size_t            n, bound;
    ngx_webrtc_str_t  l, *lp;

    lp = NULL;

    if (label) {
        l.len = strlen(label);
        l.data = (u_char *) label;
        lp = &l;
    }

    bound = ngx_webrtc_sse_len(label ? l.len : 0, len, binary);
    buf = malloc(bound);

    n = ngx_webrtc_sse_write(buf, id, lp, (u_char *) data, len, binary);

    rc = (n <= bound && n == expect_len && memcmp(buf, expect, n) == 0);

    if (!rc) {
        printf("#   got \"%.*s\" (%zu bytes, bound %zu)\n", (int) n,
               (char *) buf, n, bound);
    }

    free(buf);

    return rc;
}


static void
test_sse(void)
{
    ok(SSE(7, "chat", "hello", 5, 0,
           "id: 7\nevent: chat\ndata: hello\n\n"), "sse: text");
    ok(SSE(8, "chat", "a\nb", 3, 0,
           "id: 8\nevent: chat\ndata: a\ndata: b\n\n"), "sse: LF");
    ok(SSE(9, "", "a\r\nb\r\n", 6, 0,
           "id: 9\ndata: a\ndata: b\ndata: \n\n"),
       "sse: CRLF, trailing line break kept, empty label");
    ok(SSE(10, NULL, "a\rb\r\rc\n\r", 8, 0,
           "id: 10\ndata: a\ndata: b\ndata: \ndata: c\ndata: \ndata: \n\n"),
       "sse: lone CR, LF CR is two breaks, no label");
    ok(SSE(11, "x", "", 0, 0, "id: 11\nevent: x\ndata: \n\n"),
       "sse: empty text is one empty data line");
    ok(SSE(12, "x", NULL, 0, 0, "id: 12\nevent: x\ndata: \n\n"),
       "sse: empty text, NULL data");
    ok(SSE(13, "x", "\n", 1, 0, "id: 13\nevent: x\ndata: \ndata: \n\n"),
       "sse: a lone LF");
    ok(SSE(14, "bin", "\x00\xff", 2, 1,
           "id: 14\nevent: bin\ndata: AP8=\n\n"), "sse: binary AP8=");
    ok(SSE(15, "bin", "", 0, 1, "id: 15\nevent: bin\ndata: \n\n"),
       "sse: empty binary");
    ok(SSE(0, NULL, "f", 1, 1, "id: 0\ndata: Zg==\n\n")
       && SSE(0, NULL, "fo", 2, 1, "id: 0\ndata: Zm8=\n\n")
       && SSE(0, NULL, "foo", 3, 1, "id: 0\ndata: Zm9v\n\n")
       && SSE(0, NULL, "foob", 4, 1, "id: 0\ndata: Zm9vYg==\n\n")
       && SSE(0, NULL, "foobar", 6, 1, "id: 0\ndata: Zm9vYmFy\n\n"),
       "sse: RFC 4648 base64 vectors");
    ok(SSE(1, NULL, "\xfb\xff\xbf\n\r", 5, 1, "id: 1\ndata: +/+/Cg0=\n\n"),
       "sse: base64 '+' and '/', line breaks kept in binary");
    ok(SSE(UINT64_MAX, "a\r\nb\nc\rd", "z", 1, 0,
           "id: 18446744073709551615\nevent: a  b c d\ndata: z\n\n"),
       "sse: largest id, CR and LF in the label become spaces");
    ok(SSE(2, "\n", "z", 1, 0, "id: 2\nevent:  \ndata: z\n\n"),
       "sse: a label of a line break is a space");
    ok(SSE(3, "a", "x\x00y", 3, 0, "id: 3\nevent: a\ndata: x\x00y\n\n"),
       "sse: NUL passes through text");

    ok(ngx_webrtc_sse_len(0, SIZE_MAX / 2, 0) == SIZE_MAX
       && ngx_webrtc_sse_len(SIZE_MAX, 0, 0) == SIZE_MAX
       && ngx_webrtc_sse_len(0, SIZE_MAX - 2, 1) == SIZE_MAX,
       "sse: length overflow gives SIZE_MAX");
}


int
main(void)
{
    test_parse();
    test_write();
    test_ppid();
    test_sse();

    return done_testing();
}
