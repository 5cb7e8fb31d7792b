
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * SDP offer parser, offer selection and answer writer.
 *
 * Only libc: the file is linked alone into unit tests and fuzz targets.
 * The parser never allocates; strings point into the caller's buffer,
 * which it does not modify.
 */

#include "ngx_webrtc_sdp.h"


typedef struct {
    u_char                     *pos;
    u_char                     *end;
    unsigned                    overflow:1;
} ngx_webrtc_sdp_buf_t;


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
static int ngx_webrtc_sdp_token(u_char **pp, u_char *end,
    ngx_webrtc_str_t *tok);
static int ngx_webrtc_sdp_number(ngx_webrtc_str_t *s, uint64_t max,
    uint64_t *out);
static int ngx_webrtc_sdp_eq(ngx_webrtc_str_t *s, const char *lit);
static int ngx_webrtc_sdp_contains(ngx_webrtc_str_t *s, const char *lit);
static void ngx_webrtc_sdp_rest(u_char *p, u_char *end,
    ngx_webrtc_str_t *s);
static int ngx_webrtc_sdp_fmtp_param(ngx_webrtc_str_t *fmtp, const char *key,
    ngx_webrtc_str_t *val);
static int ngx_webrtc_sdp_has_fmt(ngx_webrtc_sdp_media_t *m, unsigned pt);
static int ngx_webrtc_sdp_in_bundle(ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_str_t *mid);
static int ngx_webrtc_sdp_pick(ngx_webrtc_sdp_media_t *m,
    ngx_webrtc_codec_e *prefs, unsigned n);
static int ngx_webrtc_sdp_score(ngx_webrtc_sdp_codec_t *c);
static int ngx_webrtc_sdp_check_transport(ngx_webrtc_sdp_transport_t *t,
    const char **error);
static int ngx_webrtc_sdp_extmap_kept(ngx_webrtc_str_t *uri);
static void ngx_webrtc_sdp_put(ngx_webrtc_sdp_buf_t *b, const char *s);
static void ngx_webrtc_sdp_put_str(ngx_webrtc_sdp_buf_t *b,
    ngx_webrtc_str_t *s);
static void ngx_webrtc_sdp_put_num(ngx_webrtc_sdp_buf_t *b, uint64_t n);
static void ngx_webrtc_sdp_put_rtpmap(ngx_webrtc_sdp_buf_t *b,
    ngx_webrtc_sdp_codec_t *c);


static const char  *ngx_webrtc_sdp_directions[] = {
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
            && m->nrids < NGX_WEBRTC_SDP_MAX_RIDS)
        {
            m->rids[m->nrids++] = tok;
        }

        return NGX_WEBRTC_PARSE_OK;
    }

    if (ngx_webrtc_sdp_eq(&name, "simulcast")) {
        m->simulcast = 1;
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


void
ngx_webrtc_sdp_transport(ngx_webrtc_sdp_t *sdp, unsigned i,
    ngx_webrtc_sdp_transport_t *t)
{
    ngx_webrtc_sdp_transport_t  *mt, *st;

    st = &sdp->transport;
    *t = *st;

    if (i >= sdp->nmedia) {
        return;
    }

    mt = &sdp->media[i].transport;

    if (mt->ufrag.len) {
        t->ufrag = mt->ufrag;
    }

    if (mt->pwd.len) {
        t->pwd = mt->pwd;
    }

    if (mt->fp.len) {
        t->fp_alg = mt->fp_alg;
        t->fp = mt->fp;
    }

    if (mt->setup != NGX_WEBRTC_SETUP_NONE) {
        t->setup = mt->setup;
    }
}


int
ngx_webrtc_sdp_select(ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_prefs_t *prefs,
    ngx_webrtc_sdp_selection_t *sel)
{
    int                       idx;
    unsigned                  i, j, tag;
    ngx_webrtc_sdp_media_t   *m;
    ngx_webrtc_sdp_codec_t   *c;
    ngx_webrtc_sdp_choice_t  *ch;

    memset(sel, 0, sizeof(ngx_webrtc_sdp_selection_t));

    sel->audio = -1;
    sel->video = -1;
    sel->application = -1;

    for (i = 0; i < NGX_WEBRTC_SDP_MAX_MEDIA; i++) {
        sel->media[i].codec = -1;
        sel->media[i].rtx = -1;
    }

    if (sdp->nmedia == 0) {
        sel->error = "no m-sections";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    /* max-bundle: every m-section in the one BUNDLE group */

    if (sdp->nmedia > 1 || sdp->nbundle) {

        for (i = 0; i < sdp->nmedia; i++) {
            m = &sdp->media[i];

            if (m->mid.len == 0 || !ngx_webrtc_sdp_in_bundle(sdp, &m->mid)) {
                sel->error = "all m-sections must be bundled";
                return NGX_WEBRTC_PARSE_ERROR;
            }

            for (j = 0; j < i; j++) {
                if (m->mid.len == sdp->media[j].mid.len
                    && memcmp(m->mid.data, sdp->media[j].mid.data, m->mid.len)
                       == 0)
                {
                    sel->error = "duplicate mid";
                    return NGX_WEBRTC_PARSE_ERROR;
                }
            }
        }

        /* and no mid in the group without its m-section */

        if (sdp->nbundle != sdp->nmedia) {
            sel->error = "bad BUNDLE group";
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    /* the shape first: which m-sections there are */

    for (i = 0; i < sdp->nmedia; i++) {
        m = &sdp->media[i];

        if (m->port == 0 && !m->bundle_only) {
            sel->error = "offer has a rejected m-section";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        switch (m->type) {

        case NGX_WEBRTC_MEDIA_APPLICATION:
            if (sel->application != -1) {
                sel->error = "more than one application m-section";
                return NGX_WEBRTC_PARSE_ERROR;
            }

            sel->application = i;
            break;

        case NGX_WEBRTC_MEDIA_AUDIO:
            if (sel->audio != -1) {
                sel->error = "more than one audio track";
                return NGX_WEBRTC_PARSE_ERROR;
            }

            sel->audio = i;
            break;

        case NGX_WEBRTC_MEDIA_VIDEO:
            if (sel->video != -1) {
                sel->error = "more than one video track";
                return NGX_WEBRTC_PARSE_ERROR;
            }

            sel->video = i;
            break;

        default:
            sel->error = "unsupported media type";
            return NGX_WEBRTC_PARSE_ERROR;
        }
    }

    for (i = 0; i < sdp->nmedia; i++) {
        m = &sdp->media[i];
        ch = &sel->media[i];

        if (m->type == NGX_WEBRTC_MEDIA_APPLICATION) {

            if (!ngx_webrtc_sdp_eq(&m->proto, "UDP/DTLS/SCTP")
                && !ngx_webrtc_sdp_eq(&m->proto, "TCP/DTLS/SCTP")
                && !ngx_webrtc_sdp_eq(&m->proto, "DTLS/SCTP"))
            {
                sel->error = "unsupported application protocol";
                return NGX_WEBRTC_PARSE_ERROR;
            }

            ch->accepted = 1;
            continue;
        }

        /* SRTP with DTLS keys only: plain RTP/AVP or SDES is refused */

        if (!ngx_webrtc_sdp_contains(&m->proto, "TLS/RTP/SAVP")) {
            sel->error = "unsupported media protocol";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (!m->rtcp_mux) {
            sel->error = "rtcp-mux required";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (prefs->ingest) {
            if (m->direction != NGX_WEBRTC_DIR_SENDONLY
                && m->direction != NGX_WEBRTC_DIR_SENDRECV)
            {
                sel->error = "offer must send media";
                return NGX_WEBRTC_PARSE_ERROR;
            }

        } else if (m->direction != NGX_WEBRTC_DIR_RECVONLY
                   && m->direction != NGX_WEBRTC_DIR_SENDRECV)
        {
            sel->error = "offer must receive media";
            return NGX_WEBRTC_PARSE_ERROR;
        }

        if (m->type == NGX_WEBRTC_MEDIA_AUDIO) {
            idx = ngx_webrtc_sdp_pick(m, prefs->audio_codecs,
                                      prefs->naudio_codecs);
            if (idx < 0) {
                sel->error = "no common audio codec";
                return NGX_WEBRTC_PARSE_ERROR;
            }

        } else {
            idx = ngx_webrtc_sdp_pick(m, prefs->video_codecs,
                                      prefs->nvideo_codecs);
            if (idx < 0) {
                sel->error = "no common video codec";
                return NGX_WEBRTC_PARSE_ERROR;
            }
        }

        ch->codec = idx;
        ch->accepted = 1;

        for (j = 0; j < m->ncodecs; j++) {
            c = &m->codecs[j];

            if (c->codec == NGX_WEBRTC_CODEC_RTX && c->has_apt
                && c->apt == m->codecs[idx].pt
                && ngx_webrtc_sdp_has_fmt(m, c->pt))
            {
                ch->rtx = j;
                break;
            }
        }
    }

    /* the BUNDLE tag (first mid of the group) carries the transport */

    tag = 0;

    for (i = 0; sdp->nbundle && i < sdp->nmedia; i++) {
        m = &sdp->media[i];

        if (m->mid.len == sdp->bundle[0].len
            && memcmp(m->mid.data, sdp->bundle[0].data, m->mid.len) == 0)
        {
            tag = i;
            break;
        }
    }

    ngx_webrtc_sdp_transport(sdp, tag, &sel->transport);

    if (ngx_webrtc_sdp_check_transport(&sel->transport, &sel->error)
        != NGX_WEBRTC_PARSE_OK)
    {
        return NGX_WEBRTC_PARSE_ERROR;
    }

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_sdp_check_transport(ngx_webrtc_sdp_transport_t *t,
    const char **error)
{
    ngx_webrtc_str_t  *a;

    if (t->ufrag.len == 0 || t->pwd.len == 0) {
        *error = "no ICE credentials";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (t->fp.len == 0) {
        *error = "no fingerprint";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    a = &t->fp_alg;

    if (!ngx_webrtc_caseeq(a->data, a->len, "sha-1")
        && !ngx_webrtc_caseeq(a->data, a->len, "sha-224")
        && !ngx_webrtc_caseeq(a->data, a->len, "sha-256")
        && !ngx_webrtc_caseeq(a->data, a->len, "sha-384")
        && !ngx_webrtc_caseeq(a->data, a->len, "sha-512"))
    {
        *error = "unsupported fingerprint algorithm";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    /* no a=setup means "active" (RFC 4145): we can be passive */

    if (t->setup == NGX_WEBRTC_SETUP_PASSIVE
        || t->setup == NGX_WEBRTC_SETUP_HOLDCONN)
    {
        *error = "offer must be setup:actpass or active";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    return NGX_WEBRTC_PARSE_OK;
}


static int
ngx_webrtc_sdp_pick(ngx_webrtc_sdp_media_t *m, ngx_webrtc_codec_e *prefs,
    unsigned n)
{
    int                      best, score, best_score;
    unsigned                 i, j;
    ngx_webrtc_sdp_codec_t  *c;

    for (i = 0; i < n && i < NGX_WEBRTC_CODEC_LAST; i++) {

        best = -1;
        best_score = -1;

        for (j = 0; j < m->ncodecs; j++) {
            c = &m->codecs[j];

            if (c->codec != prefs[i] || !ngx_webrtc_sdp_has_fmt(m, c->pt)) {
                continue;
            }

            score = ngx_webrtc_sdp_score(c);

            if (score > best_score) {
                best = j;
                best_score = score;
            }
        }

        if (best >= 0) {
            return best;
        }
    }

    return -1;
}


/*
 * Among payload types of one codec: H264 packetization-mode=1 first, then
 * constrained baseline, which every decoder handles; profile-level-id is
 * never a reason to refuse.  VP9 and AV1 profile 0 first.
 */

static int
ngx_webrtc_sdp_score(ngx_webrtc_sdp_codec_t *c)
{
    int               k, score;
    u_char            ch, hex[6];
    unsigned          idc, iop;
    ngx_webrtc_str_t  v;

    score = 0;

    switch (c->codec) {

    case NGX_WEBRTC_CODEC_H264:
        if (ngx_webrtc_sdp_fmtp_param(&c->fmtp, "packetization-mode", &v)
            && ngx_webrtc_sdp_eq(&v, "1"))
        {
            score += 16;
        }

        /* absent profile-level-id means baseline (RFC 6184) */
        idc = 0x42;
        iop = 0;

        if (ngx_webrtc_sdp_fmtp_param(&c->fmtp, "profile-level-id", &v)
            && v.len == 6)
        {
            for (k = 0; k < 6; k++) {
                ch = v.data[k] | 0x20;

                if (ch >= '0' && ch <= '9') {
                    hex[k] = ch - '0';

                } else if (ch >= 'a' && ch <= 'f') {
                    hex[k] = ch - 'a' + 10;

                } else {
                    break;
                }
            }

            if (k == 6) {
                idc = hex[0] << 4 | hex[1];
                iop = hex[2] << 4 | hex[3];
            }
        }

        if ((idc == 0x42 && (iop & 0x40)) || (idc == 0x4d && (iop & 0x80))) {
            score += 8;

        } else if (idc == 0x42) {
            score += 4;

        } else if (idc == 0x4d) {
            score += 3;

        } else if (idc == 0x64) {
            score += 2;
        }

        break;

    case NGX_WEBRTC_CODEC_VP9:
        if (!ngx_webrtc_sdp_fmtp_param(&c->fmtp, "profile-id", &v)
            || ngx_webrtc_sdp_eq(&v, "0"))
        {
            score += 1;
        }

        break;

    case NGX_WEBRTC_CODEC_AV1:
        if (!ngx_webrtc_sdp_fmtp_param(&c->fmtp, "profile", &v)
            || ngx_webrtc_sdp_eq(&v, "0"))
        {
            score += 1;
        }

        break;

    default:
        break;
    }

    return score;
}


static int
ngx_webrtc_sdp_in_bundle(ngx_webrtc_sdp_t *sdp, ngx_webrtc_str_t *mid)
{
    unsigned  i;

    for (i = 0; i < sdp->nbundle; i++) {
        if (sdp->bundle[i].len == mid->len
            && memcmp(sdp->bundle[i].data, mid->data, mid->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
ngx_webrtc_sdp_has_fmt(ngx_webrtc_sdp_media_t *m, unsigned pt)
{
    unsigned  i;

    for (i = 0; i < m->nfmts; i++) {
        if (m->fmts[i] == pt) {
            return 1;
        }
    }

    /* the m-line had more formats than we keep */
    return m->nfmts == NGX_WEBRTC_SDP_MAX_FMTS;
}


static const char  *ngx_webrtc_sdp_kinds[] = {
    "other", "audio", "video", "application"
};


size_t
ngx_webrtc_sdp_answer(u_char *buf, size_t size, ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_sdp_selection_t *sel, ngx_webrtc_sdp_answer_t *ans)
{
    unsigned                  i, j, k, port;
    ngx_webrtc_sdp_buf_t      b;
    ngx_webrtc_sdp_media_t   *m;
    ngx_webrtc_sdp_codec_t   *c, *rtx;
    ngx_webrtc_sdp_choice_t  *ch;

    if (sel->error || sdp->nmedia == 0
        || sdp->nmedia > NGX_WEBRTC_SDP_MAX_MEDIA
        || (unsigned) ans->direction > NGX_WEBRTC_DIR_INACTIVE)
    {
        return 0;
    }

    b.pos = buf;
    b.end = buf + size;
    b.overflow = 0;

    ngx_webrtc_sdp_put(&b, "v=0\r\no=- ");
    ngx_webrtc_sdp_put_num(&b, ans->session_version);
    ngx_webrtc_sdp_put(&b, " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                           "a=ice-lite\r\n");

    if (sdp->nbundle) {
        ngx_webrtc_sdp_put(&b, "a=group:BUNDLE");

        for (i = 0; i < sdp->nbundle; i++) {
            ngx_webrtc_sdp_put(&b, " ");
            ngx_webrtc_sdp_put_str(&b, &sdp->bundle[i]);
        }

        ngx_webrtc_sdp_put(&b, "\r\n");
    }

    for (i = 0; i < sdp->nmedia; i++) {
        m = &sdp->media[i];
        ch = &sel->media[i];

        c = NULL;
        rtx = NULL;
        port = m->sctp_port ? m->sctp_port : 5000;

        if (m->type != NGX_WEBRTC_MEDIA_APPLICATION && ch->accepted) {
            if (ch->codec < 0 || (unsigned) ch->codec >= m->ncodecs) {
                return 0;
            }

            c = &m->codecs[ch->codec];

            if (ch->rtx >= 0 && (unsigned) ch->rtx < m->ncodecs) {
                rtx = &m->codecs[ch->rtx];
            }
        }

        ngx_webrtc_sdp_put(&b, "m=");
        ngx_webrtc_sdp_put_str(&b, &m->media);

        if (!ch->accepted) {
            /* not expected: select refuses such offers whole */
            ngx_webrtc_sdp_put(&b, " 0 ");
            ngx_webrtc_sdp_put_str(&b, &m->proto);

            if (m->nfmts) {
                ngx_webrtc_sdp_put(&b, " ");
                ngx_webrtc_sdp_put_num(&b, m->fmts[0]);

            } else if (m->legacy_sctp) {
                ngx_webrtc_sdp_put(&b, " ");
                ngx_webrtc_sdp_put_num(&b, m->sctp_port);

            } else {
                ngx_webrtc_sdp_put(&b, " webrtc-datachannel");
            }

            ngx_webrtc_sdp_put(&b, "\r\nc=IN IP4 0.0.0.0\r\n");

            if (m->mid.len) {
                ngx_webrtc_sdp_put(&b, "a=mid:");
                ngx_webrtc_sdp_put_str(&b, &m->mid);
                ngx_webrtc_sdp_put(&b, "\r\n");
            }

            continue;
        }

        if (m->type == NGX_WEBRTC_MEDIA_APPLICATION) {

            if (m->legacy_sctp) {
                ngx_webrtc_sdp_put(&b, " 9 DTLS/SCTP ");
                ngx_webrtc_sdp_put_num(&b, port);

            } else {
                ngx_webrtc_sdp_put(&b, " 9 UDP/DTLS/SCTP webrtc-datachannel");
            }

        } else {
            ngx_webrtc_sdp_put(&b, " 9 ");
            ngx_webrtc_sdp_put_str(&b, &m->proto);
            ngx_webrtc_sdp_put(&b, " ");
            ngx_webrtc_sdp_put_num(&b, c->pt);

            if (rtx) {
                ngx_webrtc_sdp_put(&b, " ");
                ngx_webrtc_sdp_put_num(&b, rtx->pt);
            }
        }

        ngx_webrtc_sdp_put(&b, "\r\nc=IN IP4 0.0.0.0\r\n");

        if (m->mid.len) {
            ngx_webrtc_sdp_put(&b, "a=mid:");
            ngx_webrtc_sdp_put_str(&b, &m->mid);
            ngx_webrtc_sdp_put(&b, "\r\n");
        }

        if (m->type != NGX_WEBRTC_MEDIA_APPLICATION) {
            ngx_webrtc_sdp_put(&b, "a=");
            ngx_webrtc_sdp_put(&b, ngx_webrtc_sdp_directions[ans->direction]);
            ngx_webrtc_sdp_put(&b, "\r\n");
        }

        ngx_webrtc_sdp_put(&b, "a=ice-ufrag:");
        ngx_webrtc_sdp_put_str(&b, &ans->ufrag);
        ngx_webrtc_sdp_put(&b, "\r\na=ice-pwd:");
        ngx_webrtc_sdp_put_str(&b, &ans->pwd);
        ngx_webrtc_sdp_put(&b, "\r\na=fingerprint:");
        ngx_webrtc_sdp_put_str(&b, &ans->fingerprint);
        ngx_webrtc_sdp_put(&b, "\r\na=setup:passive\r\n");

        if (m->type == NGX_WEBRTC_MEDIA_APPLICATION) {

            if (m->legacy_sctp) {
                ngx_webrtc_sdp_put(&b, "a=sctpmap:");
                ngx_webrtc_sdp_put_num(&b, port);
                ngx_webrtc_sdp_put(&b, " webrtc-datachannel 1024\r\n");

            } else {
                ngx_webrtc_sdp_put(&b, "a=sctp-port:5000\r\n"
                                       "a=max-message-size:262144\r\n");
            }

        } else {
            ngx_webrtc_sdp_put(&b, "a=rtcp-mux\r\n");

            if (m->rtcp_rsize) {
                ngx_webrtc_sdp_put(&b, "a=rtcp-rsize\r\n");
            }

            ngx_webrtc_sdp_put_rtpmap(&b, c);

            if (rtx) {
                ngx_webrtc_sdp_put(&b, "a=rtpmap:");
                ngx_webrtc_sdp_put_num(&b, rtx->pt);
                ngx_webrtc_sdp_put(&b, " ");
                ngx_webrtc_sdp_put_str(&b, &rtx->name);
                ngx_webrtc_sdp_put(&b, "/");
                ngx_webrtc_sdp_put_num(&b, rtx->clock_rate);
                ngx_webrtc_sdp_put(&b, "\r\na=fmtp:");
                ngx_webrtc_sdp_put_num(&b, rtx->pt);
                ngx_webrtc_sdp_put(&b, " apt=");
                ngx_webrtc_sdp_put_num(&b, c->pt);
                ngx_webrtc_sdp_put(&b, "\r\n");
            }

            for (k = 0; k < m->nextmaps; k++) {
                if (!ngx_webrtc_sdp_extmap_kept(&m->extmaps[k].uri)) {
                    continue;
                }

                ngx_webrtc_sdp_put(&b, "a=extmap:");
                ngx_webrtc_sdp_put_num(&b, m->extmaps[k].id);
                ngx_webrtc_sdp_put(&b, " ");
                ngx_webrtc_sdp_put_str(&b, &m->extmaps[k].uri);
                ngx_webrtc_sdp_put(&b, "\r\n");
            }

            k = (m->type == NGX_WEBRTC_MEDIA_AUDIO) ? ans->ssrc_audio
                                                    : ans->ssrc_video;

            if (k && ans->direction == NGX_WEBRTC_DIR_SENDONLY) {
                /* one MediaStream, so that players get both tracks in it */
                ngx_webrtc_sdp_put(&b, "a=msid:nginx ");
                ngx_webrtc_sdp_put(&b, ngx_webrtc_sdp_kinds[m->type]);
                ngx_webrtc_sdp_put(&b, "\r\na=ssrc:");
                ngx_webrtc_sdp_put_num(&b, k);
                ngx_webrtc_sdp_put(&b, " cname:nginx\r\n");
            }
        }

        for (j = 0; j < ans->ncandidate_addrs
                    && j < NGX_WEBRTC_SDP_MAX_CANDIDATES; j++)
        {
            /* host type preference 126, local preference by order */
            ngx_webrtc_sdp_put(&b, "a=candidate:");
            ngx_webrtc_sdp_put_num(&b, j + 1);
            ngx_webrtc_sdp_put(&b, " 1 udp ");
            ngx_webrtc_sdp_put_num(&b,
                                   (126u << 24) + ((65535u - j) << 8) + 255);
            ngx_webrtc_sdp_put(&b, " ");
            ngx_webrtc_sdp_put_str(&b, &ans->candidate_addrs[j]);
            ngx_webrtc_sdp_put(&b, " ");
            ngx_webrtc_sdp_put_num(&b, ans->port);
            ngx_webrtc_sdp_put(&b, " typ host\r\n");
        }

        ngx_webrtc_sdp_put(&b, "a=end-of-candidates\r\n");
    }

    if (b.overflow) {
        return 0;
    }

    return b.pos - buf;
}


static void
ngx_webrtc_sdp_put_rtpmap(ngx_webrtc_sdp_buf_t *b, ngx_webrtc_sdp_codec_t *c)
{
    ngx_webrtc_sdp_put(b, "a=rtpmap:");
    ngx_webrtc_sdp_put_num(b, c->pt);
    ngx_webrtc_sdp_put(b, " ");

    if (c->name.len) {
        ngx_webrtc_sdp_put_str(b, &c->name);

    } else {
        ngx_webrtc_sdp_put(b, ngx_webrtc_codec_name(c->codec));
    }

    ngx_webrtc_sdp_put(b, "/");
    ngx_webrtc_sdp_put_num(b, c->clock_rate);

    if (c->channels) {
        ngx_webrtc_sdp_put(b, "/");
        ngx_webrtc_sdp_put_num(b, c->channels);
    }

    ngx_webrtc_sdp_put(b, "\r\n");

    if (c->fmtp.len) {
        ngx_webrtc_sdp_put(b, "a=fmtp:");
        ngx_webrtc_sdp_put_num(b, c->pt);
        ngx_webrtc_sdp_put(b, " ");
        ngx_webrtc_sdp_put_str(b, &c->fmtp);
        ngx_webrtc_sdp_put(b, "\r\n");
    }

    /* goog-remb is never offered back: we do not estimate bandwidth */

    if (c->fb_nack) {
        ngx_webrtc_sdp_put(b, "a=rtcp-fb:");
        ngx_webrtc_sdp_put_num(b, c->pt);
        ngx_webrtc_sdp_put(b, " nack\r\n");
    }

    if (c->fb_pli) {
        ngx_webrtc_sdp_put(b, "a=rtcp-fb:");
        ngx_webrtc_sdp_put_num(b, c->pt);
        ngx_webrtc_sdp_put(b, " nack pli\r\n");
    }

    if (c->fb_fir) {
        ngx_webrtc_sdp_put(b, "a=rtcp-fb:");
        ngx_webrtc_sdp_put_num(b, c->pt);
        ngx_webrtc_sdp_put(b, " ccm fir\r\n");
    }
}


/*
 * The server sends no transport-cc or REMB feedback, so it does not agree
 * to their extensions: the sender's bandwidth estimate then follows the
 * receiver reports' loss instead of waiting for feedback that never comes.
 */

static int
ngx_webrtc_sdp_extmap_kept(ngx_webrtc_str_t *uri)
{
    return ngx_webrtc_sdp_eq(uri, "urn:ietf:params:rtp-hdrext:sdes:mid");
}


static void
ngx_webrtc_sdp_put(ngx_webrtc_sdp_buf_t *b, const char *s)
{
    size_t  n;

    n = strlen(s);

    if (b->overflow || (size_t) (b->end - b->pos) < n) {
        b->overflow = 1;
        return;
    }

    memcpy(b->pos, s, n);
    b->pos += n;
}


static void
ngx_webrtc_sdp_put_str(ngx_webrtc_sdp_buf_t *b, ngx_webrtc_str_t *s)
{
    if (b->overflow || (size_t) (b->end - b->pos) < s->len) {
        b->overflow = 1;
        return;
    }

    if (s->len) {
        memcpy(b->pos, s->data, s->len);
        b->pos += s->len;
    }
}


static void
ngx_webrtc_sdp_put_num(ngx_webrtc_sdp_buf_t *b, uint64_t n)
{
    u_char  tmp[20], *p;

    p = tmp + sizeof(tmp);

    do {
        *--p = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    if (b->overflow || (size_t) (b->end - b->pos) < (size_t) (tmp + 20 - p)) {
        b->overflow = 1;
        return;
    }

    memcpy(b->pos, p, tmp + 20 - p);
    b->pos += tmp + 20 - p;
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


static int
ngx_webrtc_sdp_eq(ngx_webrtc_str_t *s, const char *lit)
{
    size_t  n;

    n = strlen(lit);

    return s->len == n && (n == 0 || memcmp(s->data, lit, n) == 0);
}


/* memmem() is a GNU extension that nginx's flags do not enable here */

static int
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

static int
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
