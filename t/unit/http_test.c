
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * Unit tests of the cascading client's response parser
 * (ngx_webrtc_http_parse.c) and of the client-side SDP (offer written,
 * read back; an origin's answer read).  Prints TAP.
 */

#include <stdlib.h>

#include "ngx_webrtc_http_parse.h"
#include "ngx_webrtc_sdp.h"
#include "tap.h"


#define S(s)  (u_char *) s, sizeof(s) - 1


static int
is(ngx_webrtc_str_t *s, const char *lit)
{
    return s->len == strlen(lit) && memcmp(s->data, lit, s->len) == 0;
}


static void
test_http(void)
{
    int                         rc;
    size_t                      i, head;
    u_char                      big[NGX_WEBRTC_HTTP_HEAD_MAX + 16];
    ngx_webrtc_http_response_t  res;

    static char  created[] =
        "HTTP/1.1 201 Created\r\n"
        "Server: nginx\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 42\r\n"
        "Location: /whep/cam/0123456789abcdef\r\n"
        "ETag:  \"abcd1234\"  \r\n"
        "\r\n"
        "v=0...";

    rc = ngx_webrtc_http_parse_response(&res, S(created));
    ok(rc == NGX_WEBRTC_PARSE_OK, "201 parsed");
    ok(res.status == 201, "status 201");
    ok(res.has_length && res.content_length == 42, "Content-Length");
    ok(is(&res.location, "/whep/cam/0123456789abcdef"), "Location");
    ok(is(&res.etag, "\"abcd1234\""), "ETag trimmed");
    ok(is(&res.content_type, "application/sdp"), "Content-Type");
    ok(res.head_len == sizeof(created) - 1 - 6, "head length");
    ok(res.keepalive, "HTTP/1.1 keeps alive");

    head = res.head_len;

    for (i = 0; i < head; i++) {
        rc = ngx_webrtc_http_parse_response(&res, (u_char *) created, i);
        if (rc != NGX_WEBRTC_HTTP_AGAIN) {
            break;
        }
    }

    ok(i == head, "every prefix of the head: again");

    rc = ngx_webrtc_http_parse_response(&res,
             S("HTTP/1.0 409 Conflict\nRetry-After: 3\nConnection: close\n\n"));
    ok(rc == NGX_WEBRTC_PARSE_OK && res.status == 409
       && res.retry_after == 3 && !res.keepalive, "bare LF, Retry-After");

    rc = ngx_webrtc_http_parse_response(&res,
             S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
    ok(rc == NGX_WEBRTC_PARSE_OK && res.chunked, "chunked seen");

    rc = ngx_webrtc_http_parse_response(&res,
             S("HTTP/1.1 204\r\n\r\n"));
    ok(rc == NGX_WEBRTC_PARSE_OK && res.status == 204, "no reason phrase");

    ok(ngx_webrtc_http_parse_response(&res, S("HTTP/2 200 OK\r\n\r\n"))
       == NGX_WEBRTC_PARSE_ERROR, "HTTP/2 status line refused");
    ok(ngx_webrtc_http_parse_response(&res, S("HTTP/1.1 2x1 OK\r\n\r\n"))
       == NGX_WEBRTC_PARSE_ERROR, "bad status refused");
    ok(ngx_webrtc_http_parse_response(&res, S("HTTP/1.1 099 OK\r\n\r\n"))
       == NGX_WEBRTC_PARSE_ERROR, "status below 100 refused");
    ok(ngx_webrtc_http_parse_response(&res,
           S("HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n"))
       == NGX_WEBRTC_PARSE_ERROR, "bad Content-Length refused");
    ok(ngx_webrtc_http_parse_response(&res,
           S("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"))
       == NGX_WEBRTC_PARSE_ERROR, "huge Content-Length refused");
    ok(ngx_webrtc_http_parse_response(&res,
           S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
             "Content-Length: 2\r\n\r\n"))
       == NGX_WEBRTC_PARSE_ERROR, "conflicting Content-Length refused");
    ok(ngx_webrtc_http_parse_response(&res,
           S("HTTP/1.1 200 OK\r\nno colon\r\n\r\n"))
       == NGX_WEBRTC_PARSE_ERROR, "header without colon refused");
    ok(ngx_webrtc_http_parse_response(&res,
           S("HTTP/1.1 200 OK\r\nLocation: a\x01z\r\n\r\n"))
       == NGX_WEBRTC_PARSE_ERROR, "control character refused");
    ok(ngx_webrtc_http_parse_response(&res, S("\r\n\r\n"))
       == NGX_WEBRTC_PARSE_ERROR, "empty status line refused");

    memset(big, 'a', sizeof(big));
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);

    ok(ngx_webrtc_http_parse_response(&res, big, sizeof(big))
       == NGX_WEBRTC_PARSE_ERROR, "endless head refused");
}


static void
test_sdp(void)
{
    int                       rc;
    size_t                    n;
    u_char                    buf[8192];
    ngx_webrtc_sdp_t          sdp, ans;
    ngx_webrtc_sdp_offer_t    o;
    ngx_webrtc_sdp_remote_t   r;
    ngx_webrtc_sdp_prefs_t    prefs;
    ngx_webrtc_sdp_answer_t   a;
    ngx_webrtc_sdp_selection_t  sel;
    u_char                    abuf[8192];

    memset(&o, 0, sizeof(o));
    o.ufrag.data = (u_char *) "abcdefgh";
    o.ufrag.len = 8;
    o.pwd.data = (u_char *) "0123456789012345678901234";
    o.pwd.len = 24;
    o.fingerprint.data = (u_char *) "sha-256 AB:CD";
    o.fingerprint.len = 13;
    o.candidate_addrs[0].data = (u_char *) "10.0.0.1";
    o.candidate_addrs[0].len = 8;
    o.ncandidate_addrs = 1;
    o.port = 5000;
    o.session_id = 42;
    o.direction = NGX_WEBRTC_DIR_RECVONLY;
    o.audio = 1;
    o.video = 1;

    n = ngx_webrtc_sdp_offer(buf, sizeof(buf), &o);
    ok(n > 0, "pull offer written");
    ok(ngx_webrtc_sdp_offer(buf, 100, &o) == 0, "too small: 0");

    memset(&sdp, 0, sizeof(sdp));
    rc = ngx_webrtc_sdp_parse(&sdp, buf, n);
    ok(rc == NGX_WEBRTC_PARSE_OK && sdp.nmedia == 2, "offer parses back");

    /* as an origin selects it for a VP8 stream, and answers */

    memset(&prefs, 0, sizeof(prefs));
    prefs.video_codecs[prefs.nvideo_codecs++] = NGX_WEBRTC_CODEC_VP8;
    prefs.audio_codecs[prefs.naudio_codecs++] = NGX_WEBRTC_CODEC_OPUS;
    memset(&sel, 0, sizeof(sel));

    rc = ngx_webrtc_sdp_select(&sdp, &prefs, &sel);
    ok(rc == NGX_WEBRTC_PARSE_OK, "origin accepts the offer");

    memset(&a, 0, sizeof(a));
    a.ufrag.data = (u_char *) "wxyz";
    a.ufrag.len = 4;
    a.pwd.data = (u_char *) "pppppppppppppppppppppppp";
    a.pwd.len = 24;
    a.fingerprint.data = (u_char *) "sha-256 01:02";
    a.fingerprint.len = 13;
    a.candidate_addrs[0].data = (u_char *) "10.0.0.2";
    a.candidate_addrs[0].len = 8;
    a.ncandidate_addrs = 1;
    a.port = 40000;
    a.direction = NGX_WEBRTC_DIR_SENDONLY;
    a.ssrc_audio = 7;
    a.ssrc_video = 8;

    n = ngx_webrtc_sdp_answer(abuf, sizeof(abuf), &sdp, &sel, &a);
    ok(n > 0, "origin answer written");

    memset(&ans, 0, sizeof(ans));
    rc = ngx_webrtc_sdp_parse(&ans, abuf, n);
    ok(rc == NGX_WEBRTC_PARSE_OK, "answer parses");

    rc = ngx_webrtc_sdp_answer_read(&ans, &r);
    ok(rc == NGX_WEBRTC_PARSE_OK, "answer read: %s", r.error ? r.error : "");
    ok(r.audio >= 0 && r.video >= 0, "both tracks");
    ok(r.codec[1] && r.codec[1]->codec == NGX_WEBRTC_CODEC_VP8, "VP8");
    ok(r.codec[0] && r.codec[0]->codec == NGX_WEBRTC_CODEC_OPUS, "Opus");
    ok(is(&r.cand_addr, "10.0.0.2") && r.cand_port == 40000, "candidate");
    ok(is(&r.transport.ufrag, "wxyz") && is(&r.transport.fp, "01:02"),
       "transport");
    ok(ans.media[r.video].ssrc == 8, "video SSRC");

    ans.media[0].transport.setup = NGX_WEBRTC_SETUP_ACTIVE;
    ans.media[1].transport.setup = NGX_WEBRTC_SETUP_ACTIVE;
    ok(ngx_webrtc_sdp_answer_read(&ans, &r) == NGX_WEBRTC_PARSE_ERROR,
       "setup:active refused");
}


int
main(void)
{
    test_http();
    test_sdp();

    return done_testing();
}
