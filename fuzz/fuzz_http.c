
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * libFuzzer target: an origin's response head through the cascading
 * client's parser (ngx_webrtc_http_parse.c), then the strings it returned
 * read whole, so that ASan sees any that points outside the input.
 * Seeds: fuzz/corpus/fuzz_http/.
 */


#include <stdlib.h>

#include "ngx_webrtc_http_parse.h"


static void
touch(ngx_webrtc_str_t *s, const uint8_t *data, size_t size)
{
    volatile u_char  sum;
    size_t           i;

    if (s->len && (s->data < data || s->data + s->len > data + size)) {
        abort();
    }

    for (sum = 0, i = 0; i < s->len; i++) {
        sum += s->data[i];
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                          rc;
    u_char                      *copy;
    ngx_webrtc_http_response_t   res;

    /* a copy of exactly size bytes: reads past the end are caught */
    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    rc = ngx_webrtc_http_parse_response(&res, copy, size);

    if (rc == NGX_WEBRTC_PARSE_OK) {
        if (res.head_len > size || res.status < 100 || res.status > 999) {
            abort();
        }

        touch(&res.location, copy, size);
        touch(&res.etag, copy, size);
        touch(&res.content_type, copy, size);

    } else if (rc == NGX_WEBRTC_HTTP_AGAIN) {
        if (size >= NGX_WEBRTC_HTTP_HEAD_MAX) {
            abort();
        }

    } else if (rc != NGX_WEBRTC_PARSE_ERROR || res.error == NULL) {
        abort();
    }

    free(copy);

    return 0;
}
