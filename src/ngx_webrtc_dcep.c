/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_dcep.h"


#define NGX_WEBRTC_DCEP_MAX_STR  65535

/* "id: " 20 digits "\n", "event: " "\n", the closing "\n" */
#define NGX_WEBRTC_SSE_FIXED     (4 + 20 + 1 + 7 + 1 + 1)
#define NGX_WEBRTC_SSE_DATA      (sizeof("data: \n") - 1)


static int ngx_webrtc_dcep_known(unsigned channel_type);
static u_char *ngx_webrtc_sse_copy(u_char *p, const char *s);
static u_char *ngx_webrtc_sse_base64(u_char *p, u_char *src, size_t len);


static const char  ngx_webrtc_base64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


static int
ngx_webrtc_dcep_known(unsigned channel_type)
{
    switch (channel_type) {

    case NGX_WEBRTC_DCEP_RELIABLE:
    case NGX_WEBRTC_DCEP_RELIABLE_UNORDERED:
    case NGX_WEBRTC_DCEP_REXMIT:
    case NGX_WEBRTC_DCEP_REXMIT_UNORDERED:
    case NGX_WEBRTC_DCEP_TIMED:
    case NGX_WEBRTC_DCEP_TIMED_UNORDERED:
        return 1;

    default:
        return 0;
    }
}


int
ngx_webrtc_dcep_parse(ngx_webrtc_dcep_t *d, u_char *p, size_t len)
{
    size_t  label_len, protocol_len;

    memset(d, 0, sizeof(ngx_webrtc_dcep_t));

    if (len == 0) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (p[0] == NGX_WEBRTC_DCEP_ACK) {
        if (len != 1) {
            return NGX_WEBRTC_PARSE_ERROR;
        }

        d->type = NGX_WEBRTC_DCEP_ACK;

        return NGX_WEBRTC_PARSE_OK;
    }

    if (p[0] != NGX_WEBRTC_DCEP_OPEN
        || len < NGX_WEBRTC_DCEP_OPEN_SIZE
        || !ngx_webrtc_dcep_known(p[1]))
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    label_len = ((size_t) p[8] << 8) | p[9];
    protocol_len = ((size_t) p[10] << 8) | p[11];

    /* both at most 65535: the sum cannot overflow */
    if (len - NGX_WEBRTC_DCEP_OPEN_SIZE != label_len + protocol_len) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    d->type = NGX_WEBRTC_DCEP_OPEN;
    d->channel_type = p[1];
    d->priority = (uint16_t) ((p[2] << 8) | p[3]);

    if (d->channel_type != NGX_WEBRTC_DCEP_RELIABLE
        && d->channel_type != NGX_WEBRTC_DCEP_RELIABLE_UNORDERED)
    {
        d->reliability = ((uint32_t) p[4] << 24) | ((uint32_t) p[5] << 16)
                         | ((uint32_t) p[6] << 8) | p[7];
    }

    d->label.len = label_len;
    d->label.data = p + NGX_WEBRTC_DCEP_OPEN_SIZE;
    d->protocol.len = protocol_len;
    d->protocol.data = p + NGX_WEBRTC_DCEP_OPEN_SIZE + label_len;

    return NGX_WEBRTC_PARSE_OK;
}


size_t
ngx_webrtc_dcep_write_open(u_char *buf, size_t size, uint8_t channel_type,
    uint16_t priority, uint32_t reliability, ngx_webrtc_str_t *label,
    ngx_webrtc_str_t *protocol)
{
    u_char  *p;
    size_t   label_len, protocol_len;

    label_len = label ? label->len : 0;
    protocol_len = protocol ? protocol->len : 0;

    if (!ngx_webrtc_dcep_known(channel_type)
        || label_len > NGX_WEBRTC_DCEP_MAX_STR
        || protocol_len > NGX_WEBRTC_DCEP_MAX_STR
        || size < NGX_WEBRTC_DCEP_OPEN_SIZE
        || size - NGX_WEBRTC_DCEP_OPEN_SIZE < label_len + protocol_len)
    {
        return 0;
    }

    if (channel_type == NGX_WEBRTC_DCEP_RELIABLE
        || channel_type == NGX_WEBRTC_DCEP_RELIABLE_UNORDERED)
    {
        reliability = 0;
    }

    p = buf;

    *p++ = NGX_WEBRTC_DCEP_OPEN;
    *p++ = channel_type;
    *p++ = (u_char) (priority >> 8);
    *p++ = (u_char) priority;
    *p++ = (u_char) (reliability >> 24);
    *p++ = (u_char) (reliability >> 16);
    *p++ = (u_char) (reliability >> 8);
    *p++ = (u_char) reliability;
    *p++ = (u_char) (label_len >> 8);
    *p++ = (u_char) label_len;
    *p++ = (u_char) (protocol_len >> 8);
    *p++ = (u_char) protocol_len;

    if (label_len) {
        memcpy(p, label->data, label_len);
        p += label_len;
    }

    if (protocol_len) {
        memcpy(p, protocol->data, protocol_len);
        p += protocol_len;
    }

    return p - buf;
}


size_t
ngx_webrtc_dcep_write_ack(u_char *buf, size_t size)
{
    if (size < 1) {
        return 0;
    }

    buf[0] = NGX_WEBRTC_DCEP_ACK;

    return 1;
}


int
ngx_webrtc_dc_kind(uint32_t ppid)
{
    switch (ppid) {

    case NGX_WEBRTC_PPID_STRING:
    case NGX_WEBRTC_PPID_STRING_PARTIAL:
    case NGX_WEBRTC_PPID_STRING_EMPTY:
        return 0;

    case NGX_WEBRTC_PPID_BINARY:
    case NGX_WEBRTC_PPID_BINARY_PARTIAL:
    case NGX_WEBRTC_PPID_BINARY_EMPTY:
        return 1;

    default:
        return -1;
    }
}


uint32_t
ngx_webrtc_dc_ppid(int binary, size_t len)
{
    if (len == 0) {
        return binary ? NGX_WEBRTC_PPID_BINARY_EMPTY
                      : NGX_WEBRTC_PPID_STRING_EMPTY;
    }

    return binary ? NGX_WEBRTC_PPID_BINARY : NGX_WEBRTC_PPID_STRING;
}


size_t
ngx_webrtc_sse_len(size_t label_len, size_t data_len, int binary)
{
    size_t  n, max;

    max = SIZE_MAX - NGX_WEBRTC_SSE_FIXED - NGX_WEBRTC_SSE_DATA;

    if (label_len > max) {
        return SIZE_MAX;
    }

    max -= label_len;

    if (binary) {
        /* 4 characters per 3 bytes or part of them */
        if (data_len / 3 + 1 > max / 4) {
            return SIZE_MAX;
        }

        n = (data_len / 3 + 1) * 4;

    } else {
        /* each byte is either itself or a line break starting a data line */
        if (data_len > max / NGX_WEBRTC_SSE_DATA) {
            return SIZE_MAX;
        }

        n = data_len * NGX_WEBRTC_SSE_DATA;
    }

    return NGX_WEBRTC_SSE_FIXED + label_len + NGX_WEBRTC_SSE_DATA + n;
}


static u_char *
ngx_webrtc_sse_copy(u_char *p, const char *s)
{
    size_t  n;

    n = strlen(s);
    memcpy(p, s, n);

    return p + n;
}


static u_char *
ngx_webrtc_sse_base64(u_char *p, u_char *src, size_t len)
{
    uint32_t  v;

    while (len >= 3) {
        v = ((uint32_t) src[0] << 16) | ((uint32_t) src[1] << 8) | src[2];

        *p++ = ngx_webrtc_base64[v >> 18];
        *p++ = ngx_webrtc_base64[(v >> 12) & 0x3f];
        *p++ = ngx_webrtc_base64[(v >> 6) & 0x3f];
        *p++ = ngx_webrtc_base64[v & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len) {
        v = (uint32_t) src[0] << 16;

        if (len == 2) {
            v |= (uint32_t) src[1] << 8;
        }

        *p++ = ngx_webrtc_base64[v >> 18];
        *p++ = ngx_webrtc_base64[(v >> 12) & 0x3f];
        *p++ = (len == 2) ? ngx_webrtc_base64[(v >> 6) & 0x3f] : '=';
        *p++ = '=';
    }

    return p;
}


size_t
ngx_webrtc_sse_write(u_char *buf, uint64_t id, ngx_webrtc_str_t *label,
    u_char *data, size_t len, int binary)
{
    u_char  *p, digits[20];
    size_t   i, n;

    p = ngx_webrtc_sse_copy(buf, "id: ");

    n = 0;

    do {
        digits[n++] = (u_char) ('0' + id % 10);
        id /= 10;
    } while (id);

    while (n) {
        *p++ = digits[--n];
    }

    *p++ = '\n';

    if (label && label->len) {
        p = ngx_webrtc_sse_copy(p, "event: ");

        for (i = 0; i < label->len; i++) {
            /* a line break would end the field and start another */
            *p++ = (label->data[i] == '\r' || label->data[i] == '\n')
                   ? ' ' : label->data[i];
        }

        *p++ = '\n';
    }

    p = ngx_webrtc_sse_copy(p, "data: ");

    if (binary) {
        p = ngx_webrtc_sse_base64(p, data, len);

    } else {
        /* indices, not pointers: data may be NULL when len is 0 */
        for (i = 0; i < len; i++) {

            if (data[i] != '\r' && data[i] != '\n') {
                *p++ = data[i];
                continue;
            }

            if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') {
                i++;
            }

            p = ngx_webrtc_sse_copy(p, "\ndata: ");
        }
    }

    *p++ = '\n';
    *p++ = '\n';

    return p - buf;
}
