/*
 * Copyright (C) nginx WebRTC module authors
 *
 * Unit tests of ngx_webrtc_layer.c (the WHEP layer request body), TAP.
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_webrtc_layer.h"

#include "tap.h"


static int
parse(const char *body, ngx_webrtc_layer_req_t *req)
{
    int      rc;
    size_t   len;
    u_char  *copy;

    /* an exact-size copy: ASan sees any read past the end */
    len = strlen(body);
    copy = malloc(len ? len : 1);
    memcpy(copy, body, len);

    rc = ngx_webrtc_layer_parse(req, copy, len);

    /* the strings point into the body: compare before freeing */
    if (rc == NGX_WEBRTC_PARSE_OK) {
        static u_char  mid[64], enc[64];

        memcpy(mid, req->media_id.data ? req->media_id.data : mid,
               req->media_id.len);
        memcpy(enc, req->encoding_id.data ? req->encoding_id.data : enc,
               req->encoding_id.len);
        req->media_id.data = mid;
        req->encoding_id.data = enc;
    }

    free(copy);

    return rc;
}


static int
is(ngx_webrtc_str_t *s, const char *lit)
{
    return s->len == strlen(lit) && memcmp(s->data, lit, s->len) == 0;
}


int
main(void)
{
    unsigned                 i;
    ngx_webrtc_layer_req_t   req;

    static const char  *bad[] = {
        "x", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":{}}",
        "{\"a\":[1]}", "{\"mediaId\":\"1\\\"\"}", "{} {}", "{\"a\":tru}",
        "{\"a\":\"x\" \"b\":1}", "{\"a\":+1}", "{\"a\":\"\t\"}", "\"q\"",
        "{\"encodingId\":\"q\"", "{'a':1}"
    };

    ok(parse("{\"mediaId\":\"1\",\"encodingId\":\"q\"}", &req)
       == NGX_WEBRTC_PARSE_OK && is(&req.media_id, "1")
       && is(&req.encoding_id, "q") && !req.svc, "pin");

    ok(parse(" \r\n{ \"encodingId\" : \"f\" , \"x\": null, \"y\": -1.5e3,"
             " \"z\": true, \"w\": false, \"mediaId\": \"video\" }\n", &req)
       == NGX_WEBRTC_PARSE_OK && is(&req.media_id, "video")
       && is(&req.encoding_id, "f"), "spaces, other members skipped");

    ok(parse("", &req) == NGX_WEBRTC_PARSE_OK && req.media_id.len == 0
       && req.encoding_id.len == 0, "empty body: unpin");
    ok(parse(" {} ", &req) == NGX_WEBRTC_PARSE_OK
       && req.encoding_id.len == 0, "{}: unpin");

    ok(parse("{\"mediaId\":\"1\",\"spatialLayerId\":1}", &req)
       == NGX_WEBRTC_PARSE_OK && req.svc, "SVC ids recognized");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(parse(bad[i], &req) == NGX_WEBRTC_PARSE_ERROR && req.error,
           "refused: %s (%s)", bad[i], req.error ? req.error : "no reason");
    }

    return done_testing();
}
