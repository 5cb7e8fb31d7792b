
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * The client side of SDP, for cascading: the offer an edge sends to an
 * origin (WHEP pull: recvonly) or to another WHIP endpoint (push:
 * sendonly), and what it needs of the answer (the codec of each
 * m-section, the transport, the first UDP host candidate).
 *
 * Only libc, as the parser in ngx_webrtc_sdp.c.
 */

#include "ngx_webrtc_sdp.h"

#include <stdio.h>
#include <strings.h>


typedef struct {
    u_char                     *pos;
    u_char                     *end;
    unsigned                    overflow:1;
} ngx_webrtc_sdp_obuf_t;


/* what a pull offers: every codec the module can relay, one PT each */
typedef struct {
    ngx_webrtc_codec_e          codec;
    unsigned                    pt;
    const char                 *rtpmap;
    const char                 *fmtp;
} ngx_webrtc_sdp_offer_codec_t;


static void ngx_webrtc_sdp_oput(ngx_webrtc_sdp_obuf_t *b, const char *s,
    size_t len);
static void ngx_webrtc_sdp_oputs(ngx_webrtc_sdp_obuf_t *b, const char *s);
static void ngx_webrtc_sdp_oputn(ngx_webrtc_sdp_obuf_t *b, uint64_t n);
static void ngx_webrtc_sdp_offer_candidates(ngx_webrtc_sdp_obuf_t *b,
    ngx_webrtc_sdp_offer_t *o);
static void ngx_webrtc_sdp_offer_codec(ngx_webrtc_sdp_obuf_t *b,
    unsigned video, unsigned pt, const char *rtpmap, ngx_webrtc_str_t *fmtp);
static int ngx_webrtc_sdp_candidate(ngx_webrtc_str_t *c,
    ngx_webrtc_str_t *addr, unsigned *port);


static ngx_webrtc_sdp_offer_codec_t  ngx_webrtc_sdp_offer_video[] = {
    { NGX_WEBRTC_CODEC_H264, 102, "H264/90000",
      "level-asymmetry-allowed=1;packetization-mode=1;"
      "profile-level-id=42e01f" },
    { NGX_WEBRTC_CODEC_VP8, 96, "VP8/90000", NULL },
    { NGX_WEBRTC_CODEC_VP9, 98, "VP9/90000", "profile-id=0" },
    { NGX_WEBRTC_CODEC_AV1, 45, "AV1/90000", NULL },
    { NGX_WEBRTC_CODEC_H265, 49, "H265/90000", NULL },
    { NGX_WEBRTC_CODEC_UNKNOWN, 0, NULL, NULL }
};


size_t
ngx_webrtc_sdp_offer(u_char *buf, size_t size, ngx_webrtc_sdp_offer_t *o)
{
    unsigned                       k, pt, video;
    uint32_t                       ssrc;
    const char                    *rtpmap;
    ngx_webrtc_str_t               fmtp;
    ngx_webrtc_sdp_obuf_t          b;
    ngx_webrtc_sdp_offer_codec_t  *vc;

    if (!o->audio && !o->video) {
        return 0;
    }

    b.pos = buf;
    b.end = buf + size;
    b.overflow = 0;

    ngx_webrtc_sdp_oputs(&b, "v=0\r\no=- ");
    ngx_webrtc_sdp_oputn(&b, o->session_id);
    ngx_webrtc_sdp_oputs(&b, " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                             "a=group:BUNDLE");

    if (o->audio) {
        ngx_webrtc_sdp_oputs(&b, " 0");
    }

    if (o->video) {
        ngx_webrtc_sdp_oputs(&b, " 1");
    }

    if (o->application) {
        ngx_webrtc_sdp_oputs(&b, " 2");
    }

    ngx_webrtc_sdp_oputs(&b, "\r\na=msid-semantic: WMS nginx\r\n");

    for (k = 0; k < 3; k++) {
        video = k;

        if (k == 2) {
            if (!o->application) {
                continue;
            }

            ngx_webrtc_sdp_oputs(&b, "m=application 9 UDP/DTLS/SCTP "
                                     "webrtc-datachannel\r\n"
                                     "c=IN IP4 0.0.0.0\r\na=mid:2\r\n"
                                     "a=ice-ufrag:");
            ngx_webrtc_sdp_oput(&b, (char *) o->ufrag.data, o->ufrag.len);
            ngx_webrtc_sdp_oputs(&b, "\r\na=ice-pwd:");
            ngx_webrtc_sdp_oput(&b, (char *) o->pwd.data, o->pwd.len);
            ngx_webrtc_sdp_oputs(&b, "\r\na=fingerprint:");
            ngx_webrtc_sdp_oput(&b, (char *) o->fingerprint.data,
                                o->fingerprint.len);
            ngx_webrtc_sdp_oputs(&b, "\r\na=setup:actpass\r\n"
                                     "a=sctp-port:5000\r\n"
                                     "a=max-message-size:");
            ngx_webrtc_sdp_oputn(&b, o->max_message);
            ngx_webrtc_sdp_oputs(&b, "\r\n");

            ngx_webrtc_sdp_offer_candidates(&b, o);
            continue;
        }

        if ((video && !o->video) || (!video && !o->audio)) {
            continue;
        }

        ngx_webrtc_sdp_oputs(&b, video ? "m=video 9 UDP/TLS/RTP/SAVPF"
                                       : "m=audio 9 UDP/TLS/RTP/SAVPF");

        if (!video) {
            ngx_webrtc_sdp_oputs(&b, " 111");

        } else if (o->video_codec) {
            ngx_webrtc_sdp_oputs(&b, " ");
            ngx_webrtc_sdp_oputn(&b, o->video_pt);

        } else {
            for (vc = ngx_webrtc_sdp_offer_video; vc->rtpmap; vc++) {
                ngx_webrtc_sdp_oputs(&b, " ");
                ngx_webrtc_sdp_oputn(&b, vc->pt);
            }
        }

        ngx_webrtc_sdp_oputs(&b, "\r\nc=IN IP4 0.0.0.0\r\na=mid:");
        ngx_webrtc_sdp_oputs(&b, video ? "1" : "0");
        ngx_webrtc_sdp_oputs(&b, "\r\na=");
        ngx_webrtc_sdp_oputs(&b, ngx_webrtc_sdp_directions[o->direction]);
        ngx_webrtc_sdp_oputs(&b, "\r\na=ice-ufrag:");
        ngx_webrtc_sdp_oput(&b, (char *) o->ufrag.data, o->ufrag.len);
        ngx_webrtc_sdp_oputs(&b, "\r\na=ice-pwd:");
        ngx_webrtc_sdp_oput(&b, (char *) o->pwd.data, o->pwd.len);
        ngx_webrtc_sdp_oputs(&b, "\r\na=ice-options:ice2\r\na=fingerprint:");
        ngx_webrtc_sdp_oput(&b, (char *) o->fingerprint.data,
                            o->fingerprint.len);
        ngx_webrtc_sdp_oputs(&b, "\r\na=setup:actpass\r\na=rtcp-mux\r\n"
                                 "a=rtcp-rsize\r\n");

        if (!video) {
            fmtp.data = (u_char *) "minptime=10;useinbandfec=1";
            fmtp.len = sizeof("minptime=10;useinbandfec=1") - 1;
            ngx_webrtc_sdp_offer_codec(&b, 0, 111, "opus/48000/2", &fmtp);

        } else if (o->video_codec) {
            rtpmap = NULL;

            for (vc = ngx_webrtc_sdp_offer_video; vc->rtpmap; vc++) {
                if (vc->codec == o->video_codec) {
                    rtpmap = vc->rtpmap;
                }
            }

            if (rtpmap == NULL) {
                return 0;
            }

            ngx_webrtc_sdp_offer_codec(&b, 1, o->video_pt, rtpmap,
                                       &o->video_fmtp);

        } else {
            for (vc = ngx_webrtc_sdp_offer_video; vc->rtpmap; vc++) {
                pt = vc->pt;
                fmtp.data = (u_char *) vc->fmtp;
                fmtp.len = vc->fmtp ? strlen(vc->fmtp) : 0;
                ngx_webrtc_sdp_offer_codec(&b, 1, pt, vc->rtpmap, &fmtp);
            }
        }

        ssrc = video ? o->ssrc_video : o->ssrc_audio;

        if (ssrc && o->direction == NGX_WEBRTC_DIR_SENDONLY) {
            ngx_webrtc_sdp_oputs(&b, video ? "a=msid:nginx video\r\n"
                                           : "a=msid:nginx audio\r\n");
            ngx_webrtc_sdp_oputs(&b, "a=ssrc:");
            ngx_webrtc_sdp_oputn(&b, ssrc);
            ngx_webrtc_sdp_oputs(&b, " cname:nginx\r\n");
        }

        ngx_webrtc_sdp_offer_candidates(&b, o);
    }

    if (b.overflow) {
        return 0;
    }

    return b.pos - buf;
}


static void
ngx_webrtc_sdp_offer_candidates(ngx_webrtc_sdp_obuf_t *b,
    ngx_webrtc_sdp_offer_t *o)
{
    unsigned  i;

    for (i = 0; i < o->ncandidate_addrs
                && i < NGX_WEBRTC_SDP_MAX_CANDIDATES; i++)
    {
        ngx_webrtc_sdp_oputs(b, "a=candidate:");
        ngx_webrtc_sdp_oputn(b, i + 1);
        ngx_webrtc_sdp_oputs(b, " 1 udp ");
        ngx_webrtc_sdp_oputn(b, (126u << 24) + ((65535u - i) << 8) + 255);
        ngx_webrtc_sdp_oputs(b, " ");
        ngx_webrtc_sdp_oput(b, (char *) o->candidate_addrs[i].data,
                            o->candidate_addrs[i].len);
        ngx_webrtc_sdp_oputs(b, " ");
        ngx_webrtc_sdp_oputn(b, o->port);
        ngx_webrtc_sdp_oputs(b, " typ host\r\n");
    }

    ngx_webrtc_sdp_oputs(b, "a=end-of-candidates\r\n");
}


static void
ngx_webrtc_sdp_offer_codec(ngx_webrtc_sdp_obuf_t *b, unsigned video,
    unsigned pt, const char *rtpmap, ngx_webrtc_str_t *fmtp)
{
    ngx_webrtc_sdp_oputs(b, "a=rtpmap:");
    ngx_webrtc_sdp_oputn(b, pt);
    ngx_webrtc_sdp_oputs(b, " ");
    ngx_webrtc_sdp_oputs(b, rtpmap);
    ngx_webrtc_sdp_oputs(b, "\r\n");

    if (fmtp && fmtp->len) {
        ngx_webrtc_sdp_oputs(b, "a=fmtp:");
        ngx_webrtc_sdp_oputn(b, pt);
        ngx_webrtc_sdp_oputs(b, " ");
        ngx_webrtc_sdp_oput(b, (char *) fmtp->data, fmtp->len);
        ngx_webrtc_sdp_oputs(b, "\r\n");
    }

    if (!video) {
        return;
    }

    ngx_webrtc_sdp_oputs(b, "a=rtcp-fb:");
    ngx_webrtc_sdp_oputn(b, pt);
    ngx_webrtc_sdp_oputs(b, " nack\r\na=rtcp-fb:");
    ngx_webrtc_sdp_oputn(b, pt);
    ngx_webrtc_sdp_oputs(b, " nack pli\r\na=rtcp-fb:");
    ngx_webrtc_sdp_oputn(b, pt);
    ngx_webrtc_sdp_oputs(b, " ccm fir\r\n");
}


/*
 * The answer to our offer: the accepted codec of audio and video, the
 * transport (passive: we are the DTLS client), the first UDP candidate.
 */

int
ngx_webrtc_sdp_answer_read(ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_remote_t *r)
{
    unsigned                 i, j;
    ngx_webrtc_sdp_media_t  *m;

    memset(r, 0, sizeof(ngx_webrtc_sdp_remote_t));
    r->audio = -1;
    r->video = -1;
    r->application = -1;

    for (i = 0; i < sdp->nmedia; i++) {
        m = &sdp->media[i];

        if (m->type == NGX_WEBRTC_MEDIA_APPLICATION && m->port
            && r->application < 0)
        {
            r->application = i;
            continue;
        }

        if (m->port == 0 || m->ncodecs == 0 || m->nfmts == 0) {
            continue;
        }

        if (m->type == NGX_WEBRTC_MEDIA_AUDIO && r->audio < 0) {
            r->audio = i;

        } else if (m->type == NGX_WEBRTC_MEDIA_VIDEO && r->video < 0) {
            r->video = i;

        } else {
            continue;
        }

        /* the first payload type of the m-line is the codec */

        for (j = 0; j < m->ncodecs; j++) {
            if (m->codecs[j].pt == m->fmts[0]) {
                r->codec[m->type == NGX_WEBRTC_MEDIA_VIDEO] = &m->codecs[j];
            }
        }

        if (r->codec[m->type == NGX_WEBRTC_MEDIA_VIDEO] == NULL) {
            r->error = "answer has a payload type without rtpmap";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (r->cand_port == 0) {
            for (j = 0; j < m->ncandidates; j++) {
                if (ngx_webrtc_sdp_candidate(&m->candidates[j], &r->cand_addr,
                                             &r->cand_port)
                    == NGX_WEBRTC_PARSE_OK)
                {
                    break;
                }
            }
        }

        if (r->transport.ufrag.len == 0) {
            ngx_webrtc_sdp_transport(sdp, i, &r->transport);
        }
    }

    if (r->audio < 0 && r->video < 0) {
        r->error = "answer accepts neither audio nor video";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (r->transport.ufrag.len < 4 || r->transport.ufrag.len > 256
        || r->transport.pwd.len < 22 || r->transport.pwd.len > 256)
    {
        r->error = "answer has invalid ICE credentials";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (r->transport.fp.len == 0 || r->transport.fp.len > 3 * 64
        || r->transport.fp_alg.len == 0 || r->transport.fp_alg.len > 16)
    {
        r->error = "answer has no valid fingerprint";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (r->transport.setup != NGX_WEBRTC_SETUP_PASSIVE) {
        r->error = "answer is not a=setup:passive";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (r->cand_port == 0) {
        r->error = "answer has no UDP candidate";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    return NGX_WEBRTC_PARSE_OK;
}


/* "<foundation> <component> udp <priority> <address> <port> typ ..." */

static int
ngx_webrtc_sdp_candidate(ngx_webrtc_str_t *c, ngx_webrtc_str_t *addr,
    unsigned *port)
{
    u_char            *p, *end;
    unsigned           n, i;
    ngx_webrtc_str_t   tok[6];

    p = c->data;
    end = c->data + c->len;

    for (n = 0; n < 6; n++) {
        while (p < end && *p == ' ') {
            p++;
        }

        tok[n].data = p;

        while (p < end && *p != ' ') {
            p++;
        }

        tok[n].len = p - tok[n].data;

        if (tok[n].len == 0) {
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    if (!(tok[1].len == 1 && tok[1].data[0] == '1')
        || tok[2].len != 3 || strncasecmp((char *) tok[2].data, "udp", 3) != 0
        || tok[4].len > 45 || tok[5].len > 5)
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    n = 0;

    for (i = 0; i < tok[5].len; i++) {
        if (tok[5].data[i] < '0' || tok[5].data[i] > '9') {
            return NGX_WEBRTC_PARSE_ERROR;
        }

        n = n * 10 + tok[5].data[i] - '0';
    }

    if (n == 0 || n > 65535) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    *addr = tok[4];
    *port = n;

    return NGX_WEBRTC_PARSE_OK;
}


static void
ngx_webrtc_sdp_oput(ngx_webrtc_sdp_obuf_t *b, const char *s, size_t len)
{
    if (b->overflow || (size_t) (b->end - b->pos) < len) {
        b->overflow = 1;
        return;
    }

    memcpy(b->pos, s, len);
    b->pos += len;
}


static void
ngx_webrtc_sdp_oputs(ngx_webrtc_sdp_obuf_t *b, const char *s)
{
    ngx_webrtc_sdp_oput(b, s, strlen(s));
}


static void
ngx_webrtc_sdp_oputn(ngx_webrtc_sdp_obuf_t *b, uint64_t n)
{
    int   len;
    char  num[24];

    len = snprintf(num, sizeof(num), "%llu", (unsigned long long) n);

    ngx_webrtc_sdp_oput(b, num, len);
}
