/*
 * Copyright (C) nginx WebRTC module authors
 *
 * libFuzzer target for ngx_webrtc_dcep.c: a DCEP message must survive
 * parse -> write -> parse unchanged; Server-Sent Events output of any bytes,
 * as text and as binary, must stay within ngx_webrtc_sse_len() and read back
 * as the message, the way EventSource would read it.
 */


#include <stdlib.h>

#include "ngx_webrtc_dcep.h"


#define check(cond)  do { if (!(cond)) __builtin_trap(); } while (0)


static void ngx_webrtc_fuzz_dcep(u_char *p, size_t len);
static void ngx_webrtc_fuzz_sse(uint64_t id, u_char *label, size_t label_len,
    u_char *data, size_t len, int binary);
static size_t ngx_webrtc_fuzz_field(u_char **pp, u_char *last,
    const char *name, u_char **value);
static int ngx_webrtc_fuzz_b64(int c);


static void
ngx_webrtc_fuzz_dcep(u_char *p, size_t len)
{
    u_char             *out;
    size_t              n;
    ngx_webrtc_dcep_t   d, e;

    if (ngx_webrtc_dcep_parse(&d, p, len) != NGX_WEBRTC_PARSE_OK) {
        return;
    }

    if (d.type == NGX_WEBRTC_DCEP_ACK) {
        u_char  ack[1];

        check(len == 1 && d.label.len == 0 && d.protocol.len == 0);
        check(ngx_webrtc_dcep_write_ack(ack, sizeof(ack)) == 1
              && ack[0] == p[0]);
        return;
    }

    check(d.type == NGX_WEBRTC_DCEP_OPEN);
    check(d.label.data >= p && d.label.data + d.label.len <= p + len);
    check(d.protocol.data >= p
          && d.protocol.data + d.protocol.len <= p + len);
    check(NGX_WEBRTC_DCEP_OPEN_SIZE + d.label.len + d.protocol.len == len);
    check(ngx_webrtc_dcep_ordered(d.channel_type)
          + ngx_webrtc_dcep_rexmit(d.channel_type) * 2
          + ngx_webrtc_dcep_timed(d.channel_type) * 4 != 6);

    out = malloc(len);

    /* one byte short is refused, the exact size is enough */
    check(ngx_webrtc_dcep_write_open(out, len - 1, d.channel_type,
                                     d.priority, d.reliability, &d.label,
                                     &d.protocol) == 0);

    n = ngx_webrtc_dcep_write_open(out, len, d.channel_type, d.priority,
                                   d.reliability, &d.label, &d.protocol);
    check(n == len);

    check(ngx_webrtc_dcep_parse(&e, out, n) == NGX_WEBRTC_PARSE_OK);
    check(e.type == d.type && e.channel_type == d.channel_type
          && e.priority == d.priority && e.reliability == d.reliability);
    check(e.label.len == d.label.len
          && memcmp(e.label.data, d.label.data, d.label.len) == 0);
    check(e.protocol.len == d.protocol.len
          && memcmp(e.protocol.data, d.protocol.data, d.protocol.len) == 0);

    /* the same bytes but for the ignored reliability of reliable types */
    if ((d.channel_type & 0x7f) == NGX_WEBRTC_DCEP_RELIABLE) {
        check(d.reliability == 0 && memcmp(out + 4, "\0\0\0\0", 4) == 0);
        memcpy(out + 4, p + 4, 4);
    }

    check(memcmp(out, p, len) == 0);

    free(out);
}


/* "name: value\n" at *pp: returns the value length, or traps */

static size_t
ngx_webrtc_fuzz_field(u_char **pp, u_char *last, const char *name,
    u_char **value)
{
    u_char  *p, *lf;
    size_t   n;

    p = *pp;
    n = strlen(name);

    check((size_t) (last - p) > n && memcmp(p, name, n) == 0);
    p += n;

    lf = memchr(p, '\n', last - p);
    check(lf != NULL);

    *value = p;
    *pp = lf + 1;

    return lf - p;
}


static int
ngx_webrtc_fuzz_b64(int c)
{
    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    const char  *s;

    s = (c != 0) ? strchr(alphabet, c) : NULL;
    check(s != NULL);

    return (int) (s - alphabet);
}


static void
ngx_webrtc_fuzz_sse(uint64_t id, u_char *label, size_t label_len,
    u_char *data, size_t len, int binary)
{
    u_char            *buf, *p, *last, *v, *msg, *m, *exp;
    size_t             bound, n, i, vlen, elen;
    uint64_t           got;
    unsigned           b, bits, nbits, first;
    ngx_webrtc_str_t   l;

    l.len = label_len;
    l.data = label;

    bound = ngx_webrtc_sse_len(label_len, len, binary);
    buf = malloc(bound);

    n = ngx_webrtc_sse_write(buf, id, &l, data, len, binary);
    check(n <= bound);

    /* nothing but our own line ends, and the event ends only at the end */
    p = buf;
    last = buf + n;

    check(memchr(buf, '\r', n) == NULL);
    check(n >= 2 && last[-1] == '\n' && last[-2] == '\n');

    for (i = 0; i + 2 < n; i++) {
        check(!(buf[i] == '\n' && buf[i + 1] == '\n'));
    }

    last--;                                    /* the empty line */

    vlen = ngx_webrtc_fuzz_field(&p, last, "id: ", &v);
    check(vlen >= 1 && vlen <= 20 && (v[0] != '0' || vlen == 1));

    for (got = 0, i = 0; i < vlen; i++) {
        check(v[i] >= '0' && v[i] <= '9');
        got = got * 10 + (v[i] - '0');
    }

    check(got == id);

    if (label_len) {
        vlen = ngx_webrtc_fuzz_field(&p, last, "event: ", &v);
        check(vlen == label_len);

        for (i = 0; i < vlen; i++) {
            check(v[i] == ((label[i] == '\r' || label[i] == '\n')
                           ? ' ' : label[i]));
        }
    }

    /* the message, as EventSource joins data lines */
    msg = malloc(len * 2 + 4);
    m = msg;
    first = 1;

    do {
        vlen = ngx_webrtc_fuzz_field(&p, last, "data: ", &v);

        if (!first) {
            *m++ = '\n';
        }

        first = 0;

        check((size_t) (m - msg) + vlen <= len * 2 + 4);
        memcpy(m, v, vlen);
        m += vlen;

    } while (p < last);

    if (binary) {
        elen = m - msg;
        check(elen % 4 == 0 && elen / 4 == (len + 2) / 3);

        exp = malloc(elen + 1);
        bits = 0;
        nbits = 0;
        vlen = 0;

        for (i = 0; i < elen; i++) {
            if (msg[i] == '=') {
                /* padding only at the end, and only as much as needed */
                check(i >= elen - 2
                      && (i == elen - 1 || msg[elen - 1] == '='));
                continue;
            }

            b = ngx_webrtc_fuzz_b64(msg[i]);
            bits = (bits << 6) | b;
            nbits += 6;

            if (nbits >= 8) {
                nbits -= 8;
                exp[vlen++] = (u_char) (bits >> nbits);
                bits &= (1u << nbits) - 1;
            }
        }

        check(bits == 0);                      /* canonical encoding */
        check(vlen == len && memcmp(exp, data, len) == 0);
        free(exp);

    } else {
        /* CRLF and CR come back as LF */
        exp = malloc(len + 1);
        vlen = 0;

        for (i = 0; i < len; i++) {
            if (data[i] == '\r') {
                exp[vlen++] = '\n';

                if (i + 1 < len && data[i + 1] == '\n') {
                    i++;
                }

            } else {
                exp[vlen++] = data[i];
            }
        }

        check((size_t) (m - msg) == vlen && memcmp(msg, exp, vlen) == 0);
        free(exp);
    }

    free(msg);
    free(buf);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char    *p;
    size_t     label_len, i;
    uint64_t   id;

    p = (u_char *) data;

    ngx_webrtc_fuzz_dcep(p, size);

    (void) ngx_webrtc_dc_kind(size ? data[0] : 0);
    check(ngx_webrtc_dc_kind(ngx_webrtc_dc_ppid(size & 1, size))
          == (int) (size & 1));

    /* the first byte picks how many of the next are the label */
    label_len = 0;
    id = 0;

    if (size) {
        label_len = data[0] & 0x1f;

        if (label_len > size - 1) {
            label_len = size - 1;
        }

        for (i = 0; i < 8 && i < size; i++) {
            id = (id << 8) | data[i];
        }

        if (data[0] & 0x20) {
            id = UINT64_MAX - id;
        }

        ngx_webrtc_fuzz_sse(id, p + 1, label_len, p + 1 + label_len,
                            size - 1 - label_len, 0);
        ngx_webrtc_fuzz_sse(id, p + 1, label_len, p + 1 + label_len,
                            size - 1 - label_len, 1);
    }

    ngx_webrtc_fuzz_sse(id, NULL, 0, p, size, 0);
    ngx_webrtc_fuzz_sse(id, NULL, 0, p, size, 1);

    return 0;
}
