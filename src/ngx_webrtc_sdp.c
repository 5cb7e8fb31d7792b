
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * SDP offer parser.  What is done with a parsed offer (the choice of
 * codecs and transport, the answer) is in ngx_webrtc_sdp_answer.c.
 *
 * Only libc: the file is linked alone into unit tests and fuzz targets.
 * The parser never allocates; strings point into the caller's buffer,
 * which it does not modify.
 */

#include "ngx_webrtc_sdp.h"


/* per m-section parse state that the result structure has no room for */
typedef struct {
    unsigned                    fb_nack:1;
    unsigned                    fb_pli:1;
    unsigned                    fb_fir:1;
    unsigned                    fb_remb:1;
    unsigned                    fb_twcc:1;
    unsigned                    has_direction:1;
} ngx_webrtc_sdp_wildcard_t;


static int ngx_webrtc_sdp_parse_line(ngx_webrtc_sdp_t *sdp, u_char *p,
    u_char *end, ngx_webrtc_sdp_wildcard_t *wc);
static int ngx_webrtc_sdp_parse_media(ngx_webrtc_sdp_t *sdp, u_char *p,
    u_char *end);
static void ngx_webrtc_sdp_finish_media(ngx_webrtc_sdp_media_t *m,
    ngx_webrtc_sdp_wildcard_t *wc);
static int ngx_webrtc_sdp_parse_attr(ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_sdp_media_t *m, u_char *p, u_char *end,
    ngx_webrtc_sdp_wildcard_t *wc);
static int ngx_webrtc_sdp_parse_transport(ngx_webrtc_sdp_transport_t *t,
    ngx_webrtc_str_t *name, u_char *p, u_char *end);
static int ngx_webrtc_sdp_parse_rtpmap(ngx_webrtc_sdp_media_t *m, u_char *p,
    u_char *end);
static int ngx_webrtc_sdp_parse_fmtp(ngx_webrtc_sdp_media_t *m, u_char *p,
    u_char *end);
static int ngx_webrtc_sdp_parse_rtcp_fb(ngx_webrtc_sdp_media_t *m, u_char *p,
    u_char *end, ngx_webrtc_sdp_wildcard_t *wc);
static int ngx_webrtc_sdp_parse_extmap(ngx_webrtc_sdp_media_t *m, u_char *p,
    u_char *end);
static ngx_webrtc_sdp_codec_t *ngx_webrtc_sdp_codec(ngx_webrtc_sdp_media_t *m,
    unsigned pt, int add);
static void ngx_webrtc_sdp_simulcast(u_char *p, u_char *end,
    ngx_webrtc_sdp_media_t *m);
static int ngx_webrtc_sdp_rid_valid(ngx_webrtc_str_t *rid);
static int ngx_webrtc_sdp_token(u_char **pp, u_char *end,
    ngx_webrtc_str_t *tok);
static int ngx_webrtc_sdp_number(ngx_webrtc_str_t *s, uint64_t max,
    uint64_t *out);
static void ngx_webrtc_sdp_rest(u_char *p, u_char *end,
    ngx_webrtc_str_t *s);


const char  *ngx_webrtc_sdp_directions[] = {
    "sendrecv",
    "sendonly",
    "recvonly",
    "inactive"
};


/* static payload types (RFC 3551) that may come without an rtpmap */
static const struct {
    unsigned                    pt;
    ngx_webrtc_codec_e          codec;
    unsigned                    clock_rate;
} ngx_webrtc_sdp_static_pts[] = {
    { 0,  NGX_WEBRTC_CODEC_PCMU, 8000 },
    { 8,  NGX_WEBRTC_CODEC_PCMA, 8000 },
    { 9,  NGX_WEBRTC_CODEC_G722, 8000 },
    { 13, NGX_WEBRTC_CODEC_CN,   8000 }
};


int
ngx_webrtc_sdp_parse(ngx_webrtc_sdp_t *sdp, u_char *p, size_t len)
{
    u_char                     *end, *line, *eol, *next, *q, *c;
    unsigned                    first;
    ngx_webrtc_sdp_wildcard_t   wc;

    memset(sdp, 0, sizeof(ngx_webrtc_sdp_t));
    memset(&wc, 0, sizeof(ngx_webrtc_sdp_wildcard_t));

    if (p == NULL || len == 0) {
        sdp->error = "empty";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    end = p + len;
    first = 1;

    for (line = p; line < end; line = next) {

        eol = memchr(line, '\n', end - line);

        if (eol) {
            next = eol + 1;

        } else {
            eol = end;
            next = end;
        }

        q = eol;

        if (q > line && q[-1] == '\r') {
            q--;
        }

        /* text only: a stray CR, NUL or other control byte is not SDP */

        for (c = line; c < q; c++) {
            if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
                sdp->error = (*c == '\0') ? "NUL byte" : "control character";
                return NGX_WEBRTC_PARSE_ERROR;
            }
        }

        if (q == line) {
            /* blank lines, e.g. a trailing one, are harmless */
            continue;
        }

        if (first) {
            if (q - line != 3 || memcmp(line, "v=0", 3) != 0) {
                sdp->error = "no v=0 line";
                return NGX_WEBRTC_PARSE_ERROR;
            }

            first = 0;
            continue;
        }

        if (q - line < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
        {
            sdp->error = "bad line";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (ngx_webrtc_sdp_parse_line(sdp, line, q, &wc)
            != NGX_WEBRTC_PARSE_OK)
        {
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    if (first) {
        sdp->error = "no v=0 line";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (sdp->nmedia) {
        ngx_webrtc_sdp_finish_media(&sdp->media[sdp->nmedia - 1], &wc);
    }

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_sdp_parse_line(ngx_webrtc_sdp_t *sdp, u_char *p, u_char *end,
    ngx_webrtc_sdp_wildcard_t *wc)
{
    u_char                  type;
    ngx_webrtc_str_t        tok;
    ngx_webrtc_sdp_media_t *m;

    type = p[0];
    p += 2;

    m = sdp->nmedia ? &sdp->media[sdp->nmedia - 1] : NULL;

    switch (type) {

    case 'm':
        if (m) {
            ngx_webrtc_sdp_finish_media(m, wc);
        }

        memset(wc, 0, sizeof(ngx_webrtc_sdp_wildcard_t));

        return ngx_webrtc_sdp_parse_media(sdp, p, end);

    case 'a':
        return ngx_webrtc_sdp_parse_attr(sdp, m, p, end, wc);

    case 'o':
        if (m) {
            sdp->error = "o= line in media section";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        /* o=<username> <sess-id> <sess-version> IN IP4 <address> */

        if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
            || ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK)
        {
            sdp->error = "bad o= line";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        sdp->origin_sess_id = tok;
        return NGX_WEBRTC_PARSE_OK;

    case 'v':
        sdp->error = "duplicate v= line";
        return NGX_WEBRTC_PARSE_ERROR;

    default:
        /* s=, t=, c=, b=, i=, ... carry nothing WebRTC needs */
        return NGX_WEBRTC_PARSE_OK;
    }
}


static int
ngx_webrtc_sdp_parse_media(ngx_webrtc_sdp_t *sdp, u_char *p, u_char *end)
{
    u_char                 *slash;
    uint64_t                n;
    ngx_webrtc_str_t        tok;
    ngx_webrtc_sdp_media_t *m;

    if (sdp->nmedia == NGX_WEBRTC_SDP_MAX_MEDIA) {
        sdp->error = "too many m-sections";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    m = &sdp->media[sdp->nmedia++];

    m->direction = sdp->direction;

    /* m=<media> <port>[/<number of ports>] <proto> <fmt> ... */

    if (ngx_webrtc_sdp_token(&p, end, &m->media) != NGX_WEBRTC_PARSE_OK
        || ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK)
    {
        goto bad;
    }

    slash = memchr(tok.data, '/', tok.len);

    if (slash) {
        tok.len = slash - tok.data;
    }

    if (ngx_webrtc_sdp_number(&tok, 65535, &n) != NGX_WEBRTC_PARSE_OK) {
        goto bad;
    }

    m->port = (unsigned) n;

    if (ngx_webrtc_sdp_token(&p, end, &m->proto) != NGX_WEBRTC_PARSE_OK) {
        goto bad;
    }

    if (ngx_webrtc_sdp_eq(&m->media, "audio")) {
        m->type = NGX_WEBRTC_MEDIA_AUDIO;

    } else if (ngx_webrtc_sdp_eq(&m->media, "video")) {
        m->type = NGX_WEBRTC_MEDIA_VIDEO;

    } else if (ngx_webrtc_sdp_eq(&m->media, "application")) {
        m->type = NGX_WEBRTC_MEDIA_APPLICATION;

    } else {
        m->type = NGX_WEBRTC_MEDIA_OTHER;
    }

    if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK) {
        /* at least one format is required */
        goto bad;
    }

    if (ngx_webrtc_sdp_eq(&m->proto, "DTLS/SCTP")) {

        /* the pre-RFC 8841 form: the format is the SCTP port */

        if (ngx_webrtc_sdp_number(&tok, 65535, &n) != NGX_WEBRTC_PARSE_OK) {
            goto bad;
        }

        m->legacy_sctp = 1;
        m->sctp_port = (unsigned) n;
        return NGX_WEBRTC_PARSE_OK;
    }

    if (!ngx_webrtc_sdp_contains(&m->proto, "RTP")) {
        /* "webrtc-datachannel" and other non-RTP formats */
        return NGX_WEBRTC_PARSE_OK;
    }

    do {
        if (ngx_webrtc_sdp_number(&tok, 127, &n) != NGX_WEBRTC_PARSE_OK) {
            goto bad;
        }

        if (m->nfmts < NGX_WEBRTC_SDP_MAX_FMTS) {
            m->fmts[m->nfmts++] = (unsigned) n;
        }

    } while (ngx_webrtc_sdp_token(&p, end, &tok) == NGX_WEBRTC_PARSE_OK);

    return NGX_WEBRTC_PARSE_OK;

bad:

    sdp->error = "bad m= line";
    return NGX_WEBRTC_PARSE_ERROR;
}


static void
ngx_webrtc_sdp_finish_media(ngx_webrtc_sdp_media_t *m,
    ngx_webrtc_sdp_wildcard_t *wc)
{
    unsigned                 i, j;
    ngx_webrtc_sdp_codec_t  *c;

    /* "a=rtcp-fb:* ..." applies to every codec, wherever it was declared */

    for (i = 0; i < m->ncodecs; i++) {
        c = &m->codecs[i];

        c->fb_nack |= wc->fb_nack;
        c->fb_pli |= wc->fb_pli;
        c->fb_fir |= wc->fb_fir;
        c->fb_remb |= wc->fb_remb;
        c->fb_twcc |= wc->fb_twcc;
    }

    for (i = 0; i < m->nfmts; i++) {
        for (j = 0; j < sizeof(ngx_webrtc_sdp_static_pts)
                        / sizeof(ngx_webrtc_sdp_static_pts[0]); j++)
        {
            if (m->fmts[i] != ngx_webrtc_sdp_static_pts[j].pt) {
                continue;
            }

            c = ngx_webrtc_sdp_codec(m, m->fmts[i], 1);

            if (c == NULL || c->name.len) {
                break;
            }

            /* no rtpmap: the name is ours, never written through */
            c->codec = ngx_webrtc_sdp_static_pts[j].codec;
            c->name.data = (u_char *) ngx_webrtc_codec_name(c->codec);
            c->name.len = strlen(ngx_webrtc_codec_name(c->codec));
            c->clock_rate = ngx_webrtc_sdp_static_pts[j].clock_rate;
            break;
        }
    }
}


static int
ngx_webrtc_sdp_parse_attr(ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_media_t *m,
    u_char *p, u_char *end, ngx_webrtc_sdp_wildcard_t *wc)
{
    u_char                      *colon;
    uint64_t                     n, n2;
    ngx_webrtc_str_t             name, tok, val;
    ngx_webrtc_direction_e       dir;
    ngx_webrtc_sdp_transport_t  *t;

    colon = memchr(p, ':', end - p);

    name.data = p;
    name.len = (colon ? colon : end) - p;
    p = colon ? colon + 1 : end;

    t = m ? &m->transport : &sdp->transport;

    if (ngx_webrtc_sdp_eq(&name, "ice-ufrag")
        || ngx_webrtc_sdp_eq(&name, "ice-pwd")
        || ngx_webrtc_sdp_eq(&name, "fingerprint")
        || ngx_webrtc_sdp_eq(&name, "setup"))
    {
        if (ngx_webrtc_sdp_parse_transport(t, &name, p, end)
            != NGX_WEBRTC_PARSE_OK)
        {
            sdp->error = "bad transport attribute";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    for (dir = NGX_WEBRTC_DIR_SENDRECV; dir <= NGX_WEBRTC_DIR_INACTIVE; dir++)
    {
        if (ngx_webrtc_sdp_eq(&name, ngx_webrtc_sdp_directions[dir])) {
            if (m) {
                m->direction = dir;

            } else {
                sdp->direction = dir;
            }

            return NGX_WEBRTC_PARSE_OK;
        }
    }

    if (ngx_webrtc_sdp_eq(&name, "ice-options")) {
        while (ngx_webrtc_sdp_token(&p, end, &tok) == NGX_WEBRTC_PARSE_OK) {
            /* "ice2,trickle" from libdatachannel is one token */
            if (ngx_webrtc_sdp_contains(&tok, "trickle")) {
                sdp->ice_trickle = 1;
            }
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "ice-lite")) {
        sdp->ice_lite = 1;
        return NGX_WEBRTC_PARSE_OK;
    }

    if (m == NULL) {

        if (ngx_webrtc_sdp_eq(&name, "group")) {

            if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
                || !ngx_webrtc_sdp_eq(&tok, "BUNDLE")
                || sdp->nbundle)
            {
                /* LS groups, and any BUNDLE group after the first */
                return NGX_WEBRTC_PARSE_OK;
            }

            while (ngx_webrtc_sdp_token(&p, end, &tok) == NGX_WEBRTC_PARSE_OK)
            {
                if (sdp->nbundle == NGX_WEBRTC_SDP_MAX_BUNDLE) {
                    sdp->error = "too many mids in BUNDLE group";
                    return NGX_WEBRTC_PARSE_ERROR;
                }

                sdp->bundle[sdp->nbundle++] = tok;
            }
        }

        /* extmap-allow-mixed, msid-semantic, ... */
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "mid")) {
        ngx_webrtc_sdp_rest(p, end, &m->mid);
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "rtpmap")) {
        if (ngx_webrtc_sdp_parse_rtpmap(m, p, end) != NGX_WEBRTC_PARSE_OK) {
            sdp->error = "bad rtpmap";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "fmtp")) {
        if (ngx_webrtc_sdp_parse_fmtp(m, p, end) != NGX_WEBRTC_PARSE_OK) {
            sdp->error = "bad fmtp";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "rtcp-fb")) {
        if (ngx_webrtc_sdp_parse_rtcp_fb(m, p, end, wc) != NGX_WEBRTC_PARSE_OK)
        {
            sdp->error = "bad rtcp-fb";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "extmap")) {
        if (ngx_webrtc_sdp_parse_extmap(m, p, end) != NGX_WEBRTC_PARSE_OK) {
            sdp->error = "bad extmap";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "candidate")) {
        if (m->ncandidates < NGX_WEBRTC_SDP_MAX_CANDIDATES) {
            ngx_webrtc_sdp_rest(p, end, &m->candidates[m->ncandidates++]);
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "end-of-candidates")) {
        m->end_of_candidates = 1;
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "rtcp-mux")) {
        m->rtcp_mux = 1;
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "rtcp-mux-only")) {
        m->rtcp_mux_only = 1;
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "rtcp-rsize")) {
        m->rtcp_rsize = 1;
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "bundle-only")) {
        m->bundle_only = 1;
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "ssrc")) {
        if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
            || ngx_webrtc_sdp_number(&tok, 0xffffffff, &n)
               != NGX_WEBRTC_PARSE_OK)
        {
            sdp->error = "bad ssrc";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (m->ssrc == 0) {
            m->ssrc = (uint32_t) n;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "ssrc-group")) {
        if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
            || !ngx_webrtc_sdp_eq(&tok, "FID"))
        {
            return NGX_WEBRTC_PARSE_OK;
        }

        if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
            || ngx_webrtc_sdp_number(&tok, 0xffffffff, &n)
               != NGX_WEBRTC_PARSE_OK
            || ngx_webrtc_sdp_token(&p, end, &val) != NGX_WEBRTC_PARSE_OK
            || ngx_webrtc_sdp_number(&val, 0xffffffff, &n2)
               != NGX_WEBRTC_PARSE_OK)
        {
            sdp->error = "bad ssrc-group";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (m->rtx_ssrc == 0) {
            /* the group names the primary first, whatever a=ssrc said */
            m->ssrc = (uint32_t) n;
            m->rtx_ssrc = (uint32_t) n2;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "msid")) {
        ngx_webrtc_sdp_rest(p, end, &m->msid);
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "rid")) {
        if (ngx_webrtc_sdp_token(&p, end, &tok) == NGX_WEBRTC_PARSE_OK
            && ngx_webrtc_sdp_token(&p, end, &val) == NGX_WEBRTC_PARSE_OK
            && ngx_webrtc_sdp_eq(&val, "send")
            && ngx_webrtc_sdp_rid_valid(&tok)
            && m->nrids < NGX_WEBRTC_SDP_MAX_RIDS)
        {
            m->rids[m->nrids++] = tok;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "simulcast")) {
        m->simulcast = 1;
        ngx_webrtc_sdp_simulcast(p, end, m);
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "sctp-port")
        || ngx_webrtc_sdp_eq(&name, "sctpmap"))
    {
        if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
            || ngx_webrtc_sdp_number(&tok, 65535, &n) != NGX_WEBRTC_PARSE_OK)
        {
            sdp->error = "bad sctp port";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        m->sctp_port = (unsigned) n;

        if (name.len == sizeof("sctpmap") - 1) {
            m->legacy_sctp = 1;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "max-message-size")) {
        if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
            || ngx_webrtc_sdp_number(&tok, 0xffffffff, &n)
               != NGX_WEBRTC_PARSE_OK)
        {
            sdp->error = "bad max-message-size";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        m->max_message_size = (unsigned) n;
        return NGX_WEBRTC_PARSE_OK;
    }

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_sdp_parse_transport(ngx_webrtc_sdp_transport_t *t,
    ngx_webrtc_str_t *name, u_char *p, u_char *end)
{
    ngx_webrtc_str_t  tok;

    if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (ngx_webrtc_sdp_eq(name, "ice-ufrag")) {
        t->ufrag = tok;

    } else if (ngx_webrtc_sdp_eq(name, "ice-pwd")) {
        t->pwd = tok;

    } else if (ngx_webrtc_sdp_eq(name, "fingerprint")) {
        t->fp_alg = tok;

        if (ngx_webrtc_sdp_token(&p, end, &t->fp) != NGX_WEBRTC_PARSE_OK) {
            return NGX_WEBRTC_PARSE_ERROR;
        }

    } else if (ngx_webrtc_sdp_eq(&tok, "actpass")) {
        t->setup = NGX_WEBRTC_SETUP_ACTPASS;

    } else if (ngx_webrtc_sdp_eq(&tok, "active")) {
        t->setup = NGX_WEBRTC_SETUP_ACTIVE;

    } else if (ngx_webrtc_sdp_eq(&tok, "passive")) {
        t->setup = NGX_WEBRTC_SETUP_PASSIVE;

    } else if (ngx_webrtc_sdp_eq(&tok, "holdconn")) {
        t->setup = NGX_WEBRTC_SETUP_HOLDCONN;

    } else {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_sdp_parse_rtpmap(ngx_webrtc_sdp_media_t *m, u_char *p, u_char *end)
{
    u_char                  *slash;
    uint64_t                 pt, clock, channels;
    ngx_webrtc_str_t         tok, name, num;
    ngx_webrtc_sdp_codec_t  *c;

    /* a=rtpmap:<pt> <encoding name>/<clock rate>[/<channels>] */

    if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
        || ngx_webrtc_sdp_number(&tok, 127, &pt) != NGX_WEBRTC_PARSE_OK
        || ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK)
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    slash = memchr(tok.data, '/', tok.len);
    if (slash == NULL || slash == tok.data) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    name.data = tok.data;
    name.len = slash - tok.data;

    num.data = slash + 1;
    num.len = tok.data + tok.len - num.data;

    channels = 0;
    slash = memchr(num.data, '/', num.len);

    if (slash) {
        tok.data = slash + 1;
        tok.len = num.data + num.len - tok.data;
        num.len = slash - num.data;

        if (ngx_webrtc_sdp_number(&tok, 255, &channels)
            != NGX_WEBRTC_PARSE_OK)
        {
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    if (ngx_webrtc_sdp_number(&num, 10000000, &clock) != NGX_WEBRTC_PARSE_OK)
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    c = ngx_webrtc_sdp_codec(m, (unsigned) pt, 1);

    if (c == NULL || c->name.len) {
        /* no room, or a second rtpmap for the same payload type */
        return NGX_WEBRTC_PARSE_OK;
    }

    c->name = name;
    c->codec = ngx_webrtc_codec_by_name(name.data, name.len);
    c->clock_rate = (unsigned) clock;
    c->channels = (unsigned) channels;

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_sdp_parse_fmtp(ngx_webrtc_sdp_media_t *m, u_char *p, u_char *end)
{
    uint64_t                 pt, apt;
    ngx_webrtc_str_t         tok, val;
    ngx_webrtc_sdp_codec_t  *c;

    if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
        || ngx_webrtc_sdp_number(&tok, 127, &pt) != NGX_WEBRTC_PARSE_OK)
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    c = ngx_webrtc_sdp_codec(m, (unsigned) pt, 1);
    if (c == NULL || c->fmtp.len) {
        return NGX_WEBRTC_PARSE_OK;
    }

    ngx_webrtc_sdp_rest(p, end, &c->fmtp);

    if (ngx_webrtc_sdp_fmtp_param(&c->fmtp, "apt", &val)
        && ngx_webrtc_sdp_number(&val, 127, &apt) == NGX_WEBRTC_PARSE_OK)
    {
        c->apt = (unsigned) apt;
        c->has_apt = 1;
    }

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_sdp_parse_rtcp_fb(ngx_webrtc_sdp_media_t *m, u_char *p,
    u_char *end, ngx_webrtc_sdp_wildcard_t *wc)
{
    unsigned                 nack, pli, fir, remb, twcc;
    uint64_t                 pt;
    ngx_webrtc_str_t         tok, type, param;
    ngx_webrtc_sdp_codec_t  *c;

    if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
        || ngx_webrtc_sdp_token(&p, end, &type) != NGX_WEBRTC_PARSE_OK)
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (ngx_webrtc_sdp_token(&p, end, &param) != NGX_WEBRTC_PARSE_OK) {
        param.len = 0;
        param.data = NULL;
    }

    nack = ngx_webrtc_sdp_eq(&type, "nack") && param.len == 0;
    pli = ngx_webrtc_sdp_eq(&type, "nack") && ngx_webrtc_sdp_eq(&param, "pli");
    fir = ngx_webrtc_sdp_eq(&type, "ccm") && ngx_webrtc_sdp_eq(&param, "fir");
    remb = ngx_webrtc_sdp_eq(&type, "goog-remb");
    twcc = ngx_webrtc_sdp_eq(&type, "transport-cc");

    if (ngx_webrtc_sdp_eq(&tok, "*")) {
        wc->fb_nack |= nack;
        wc->fb_pli |= pli;
        wc->fb_fir |= fir;
        wc->fb_remb |= remb;
        wc->fb_twcc |= twcc;
        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_number(&tok, 127, &pt) != NGX_WEBRTC_PARSE_OK) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    c = ngx_webrtc_sdp_codec(m, (unsigned) pt, 1);
    if (c == NULL) {
        return NGX_WEBRTC_PARSE_OK;
    }

    c->fb_nack |= nack;
    c->fb_pli |= pli;
    c->fb_fir |= fir;
    c->fb_remb |= remb;
    c->fb_twcc |= twcc;

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_sdp_parse_extmap(ngx_webrtc_sdp_media_t *m, u_char *p,
    u_char *end)
{
    u_char            *slash;
    uint64_t           id;
    ngx_webrtc_str_t   tok, uri;

    /* a=extmap:<id>[/<direction>] <uri> [<attributes>] */

    if (ngx_webrtc_sdp_token(&p, end, &tok) != NGX_WEBRTC_PARSE_OK
        || ngx_webrtc_sdp_token(&p, end, &uri) != NGX_WEBRTC_PARSE_OK)
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    slash = memchr(tok.data, '/', tok.len);
    if (slash) {
        tok.len = slash - tok.data;
    }

    if (ngx_webrtc_sdp_number(&tok, 65535, &id) != NGX_WEBRTC_PARSE_OK) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    /* ids outside the one- and two-byte header ranges cannot be used */

    if (id == 0 || id > 255 || m->nextmaps == NGX_WEBRTC_SDP_MAX_EXTMAP) {
        return NGX_WEBRTC_PARSE_OK;
    }

    m->extmaps[m->nextmaps].id = (unsigned) id;
    m->extmaps[m->nextmaps].uri = uri;
    m->nextmaps++;

    return NGX_WEBRTC_PARSE_OK;
}


static ngx_webrtc_sdp_codec_t *
ngx_webrtc_sdp_codec(ngx_webrtc_sdp_media_t *m, unsigned pt, int add)
{
    unsigned                 i;
    ngx_webrtc_sdp_codec_t  *c;

    for (i = 0; i < m->ncodecs; i++) {
        if (m->codecs[i].pt == pt) {
            return &m->codecs[i];
        }
    }

    if (!add || m->ncodecs == NGX_WEBRTC_SDP_MAX_CODECS) {
        return NULL;
    }

    /* fmtp and rtcp-fb may come before the rtpmap they refer to */

    c = &m->codecs[m->ncodecs++];
    memset(c, 0, sizeof(ngx_webrtc_sdp_codec_t));
    c->pt = pt;

    return c;
}


/* the next space-separated token; NGX_WEBRTC_PARSE_ERROR if none is left */

static int
ngx_webrtc_sdp_token(u_char **pp, u_char *end, ngx_webrtc_str_t *tok)
{
    u_char  *p, *start;

    p = *pp;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    start = p;

    while (p < end && *p != ' ' && *p != '\t') {
        p++;
    }

    *pp = p;

    if (p == start) {
        tok->len = 0;
        tok->data = NULL;
        return NGX_WEBRTC_PARSE_ERROR;
    }

    tok->data = start;
    tok->len = p - start;

    return NGX_WEBRTC_PARSE_OK;
}


/* the rest of the line without surrounding blanks */

static void
ngx_webrtc_sdp_rest(u_char *p, u_char *end, ngx_webrtc_str_t *s)
{
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    s->data = p;
    s->len = end - p;
}


static int
ngx_webrtc_sdp_number(ngx_webrtc_str_t *s, uint64_t max, uint64_t *out)
{
    size_t    i;
    uint64_t  n;

    if (s->len == 0 || s->len > 20) {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    n = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return NGX_WEBRTC_PARSE_ERROR;
        }

        /* max is far below 2^60: no overflow before the check */
        n = n * 10 + (s->data[i] - '0');

        if (n > max) {
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    *out = n;

    return NGX_WEBRTC_PARSE_OK;
}


int
ngx_webrtc_sdp_eq(ngx_webrtc_str_t *s, const char *lit)
{
    size_t  n;

    n = strlen(lit);

    return s->len == n && (n == 0 || memcmp(s->data, lit, n) == 0);
}


/* memmem() is a GNU extension that nginx's flags do not enable here */

int
ngx_webrtc_sdp_contains(ngx_webrtc_str_t *s, const char *lit)
{
    size_t  i, n;

    n = strlen(lit);

    for (i = 0; i + n <= s->len; i++) {
        if (memcmp(s->data + i, lit, n) == 0) {
            return 1;
        }
    }

    return 0;
}


/* "key=value" in a ';'-separated fmtp list, keys case-insensitive */

int
ngx_webrtc_sdp_fmtp_param(ngx_webrtc_str_t *fmtp, const char *key,
    ngx_webrtc_str_t *val)
{
    u_char  *p, *end, *next, *eq, *k, *ke;

    if (fmtp->len == 0) {
        return 0;
    }

    p = fmtp->data;
    end = p + fmtp->len;

    while (p < end) {
        next = memchr(p, ';', end - p);
        if (next == NULL) {
            next = end;
        }

        eq = memchr(p, '=', next - p);

        if (eq) {
            k = p;
            ke = eq;

            while (k < ke && *k == ' ') {
                k++;
            }

            while (ke > k && ke[-1] == ' ') {
                ke--;
            }

            if (ngx_webrtc_caseeq(k, ke - k, key)) {
                ngx_webrtc_sdp_rest(eq + 1, next, val);
                return 1;
            }
        }

        p = next + 1;
    }

    return 0;
}


static int ngx_webrtc_sdp_frag_attr(ngx_webrtc_sdp_frag_t *f, u_char *p,
    u_char *end);
static int ngx_webrtc_sdp_ice_chars(ngx_webrtc_str_t *s, size_t min,
    size_t max);


int
ngx_webrtc_sdp_frag_parse(ngx_webrtc_sdp_frag_t *f, u_char *p, size_t len)
{
    u_char  *end, *line, *eol, *next, *q, *c;

    memset(f, 0, sizeof(ngx_webrtc_sdp_frag_t));

    end = p + len;

    for (line = p; p && line < end; line = next) {

        eol = memchr(line, '\n', end - line);

        if (eol) {
            next = eol + 1;

        } else {
            eol = end;
            next = end;
        }

        q = eol;

        if (q > line && q[-1] == '\r') {
            q--;
        }

        for (c = line; c < q; c++) {
            if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
                f->error = (*c == '\0') ? "NUL byte" : "control character";
                return NGX_WEBRTC_PARSE_ERROR;
            }
        }

        if (q == line) {
            continue;
        }

        if (q - line < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
        {
            f->error = "malformed SDP fragment";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (line[0] == 'm') {
            if (f->media.len == 0) {
                ngx_webrtc_sdp_rest(line + 2, q, &f->media);
            }

            continue;
        }

        if (line[0] == 'a'
            && ngx_webrtc_sdp_frag_attr(f, line + 2, q)
               != NGX_WEBRTC_PARSE_OK)
        {
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    if ((f->ufrag.len == 0) != (f->pwd.len == 0)) {
        f->error = f->ufrag.len ? "ice-ufrag without ice-pwd"
                                : "ice-pwd without ice-ufrag";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_sdp_frag_attr(ngx_webrtc_sdp_frag_t *f, u_char *p, u_char *end)
{
    u_char            *colon;
    ngx_webrtc_str_t   name, val;

    colon = memchr(p, ':', end - p);

    name.data = p;
    name.len = (colon ? colon : end) - p;

    ngx_webrtc_sdp_rest(colon ? colon + 1 : end, end, &val);

    if (ngx_webrtc_sdp_eq(&name, "ice-ufrag")) {
        if (f->ufrag.len) {
            f->error = "ice-ufrag twice";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (!ngx_webrtc_sdp_ice_chars(&val, 4, 256)) {
            f->error = "invalid ice-ufrag";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        f->ufrag = val;

    } else if (ngx_webrtc_sdp_eq(&name, "ice-pwd")) {
        if (f->pwd.len) {
            f->error = "ice-pwd twice";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (!ngx_webrtc_sdp_ice_chars(&val, 22, 256)) {
            f->error = "invalid ice-pwd";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        f->pwd = val;

    } else if (ngx_webrtc_sdp_eq(&name, "mid")) {
        if (f->mid.len == 0) {
            f->mid = val;
        }

    } else if (ngx_webrtc_sdp_eq(&name, "candidate")) {
        if (val.len == 0) {
            f->error = "empty candidate";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (f->ncandidates < NGX_WEBRTC_SDP_MAX_CANDIDATES) {
            f->candidates[f->ncandidates++] = val;
        }

    } else if (ngx_webrtc_sdp_eq(&name, "end-of-candidates")) {
        f->end_of_candidates = 1;
    }

    return NGX_WEBRTC_PARSE_OK;
}


/* RFC 8839: ice-char = ALPHA / DIGIT / "+" / "/" */

static int
ngx_webrtc_sdp_ice_chars(ngx_webrtc_str_t *s, size_t min, size_t max)
{
    size_t  i;
    u_char  c;

    if (s->len < min || s->len > max) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '+' || c == '/'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * "a=simulcast:send q;h;~f recv x" (RFC 8853): the rids of the send
 * direction in their order; of alternatives ("a,b") the first; a paused
 * one ("~f") all the same, the sender may resume it.
 */

static void
ngx_webrtc_sdp_simulcast(u_char *p, u_char *end, ngx_webrtc_sdp_media_t *m)
{
    u_char            *s;
    unsigned           skip;
    ngx_webrtc_str_t   dir, list;

    while (ngx_webrtc_sdp_token(&p, end, &dir) == NGX_WEBRTC_PARSE_OK) {

        if (ngx_webrtc_sdp_token(&p, end, &list) != NGX_WEBRTC_PARSE_OK) {
            return;
        }

        if (!ngx_webrtc_sdp_eq(&dir, "send")) {
            continue;
        }

        m->nsend_rids = 0;
        skip = 0;
        s = list.data;

        for (p = list.data; p <= list.data + list.len; p++) {

            if (p < list.data + list.len && *p != ';' && *p != ',') {
                continue;
            }

            if (s < p && *s == '~') {
                s++;
            }

            if (!skip && p > s && m->nsend_rids < NGX_WEBRTC_SDP_MAX_RIDS) {
                m->send_rids[m->nsend_rids].data = s;
                m->send_rids[m->nsend_rids].len = p - s;
                m->nsend_rids++;
            }

            /* after a ',' come alternatives until the next ';' */
            skip = (p < list.data + list.len && *p == ',');
            s = p + 1;
        }

        return;
    }
}


/*
 * The layers of a simulcast video m-section: the rids of a=simulcast:send
 * that have an a=rid send line, in that order; without a=simulcast the
 * a=rid lines.  0 when there is one layer or none: plain video.
 */

unsigned
ngx_webrtc_sdp_layers(ngx_webrtc_sdp_media_t *m, ngx_webrtc_str_t *rids)
{
    unsigned  i, j, n;

    if (!m->simulcast || m->type != NGX_WEBRTC_MEDIA_VIDEO) {
        return 0;
    }

    n = 0;

    if (m->nsend_rids == 0) {
        for (i = 0; i < m->nrids && n < NGX_WEBRTC_SDP_MAX_LAYERS; i++) {
            rids[n++] = m->rids[i];
        }

    } else {
        for (i = 0; i < m->nsend_rids; i++) {
            for (j = 0; j < m->nrids; j++) {
                if (m->rids[j].len == m->send_rids[i].len
                    && memcmp(m->rids[j].data, m->send_rids[i].data,
                              m->rids[j].len) == 0)
                {
                    if (n < NGX_WEBRTC_SDP_MAX_LAYERS) {
                        rids[n++] = m->rids[j];
                    }

                    break;
                }
            }
        }
    }

    return (n > 1) ? n : 0;
}


/* the id of an a=extmap of the m-section by URI, 0 if not offered */

unsigned
ngx_webrtc_sdp_extmap_id(ngx_webrtc_sdp_media_t *m, const char *uri)
{
    unsigned  i;

    for (i = 0; i < m->nextmaps; i++) {
        if (ngx_webrtc_sdp_eq(&m->extmaps[i].uri, uri)) {
            return m->extmaps[i].id;
        }
    }

    return 0;
}


/* RFC 8851 rid-id, at most 16 characters (what RTP header elements hold) */

static int
ngx_webrtc_sdp_rid_valid(ngx_webrtc_str_t *rid)
{
    u_char  c;
    size_t  i;

    if (rid->len == 0 || rid->len > 16) {
        return 0;
    }

    for (i = 0; i < rid->len; i++) {
        c = rid->data[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
        {
            return 0;
        }
    }

    return 1;
}
