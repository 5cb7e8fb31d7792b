
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * What is done with a parsed offer: whether it can be accepted, the codec
 * of each m-section and the transport (ngx_webrtc_sdp_select), then the
 * answer written from that choice (ngx_webrtc_sdp_answer).
 *
 * Only libc, as the parser in ngx_webrtc_sdp.c.
 */

#include "ngx_webrtc_sdp.h"


typedef struct {
    u_char                     *pos;
    u_char                     *end;
    unsigned                    overflow:1;
} ngx_webrtc_sdp_buf_t;


/* kbit/s: x-google-start-bitrate of a simulcast answer */
#define NGX_WEBRTC_SDP_SIMULCAST_START  2500


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
static void ngx_webrtc_sdp_put_candidates(ngx_webrtc_sdp_buf_t *b,
    ngx_webrtc_sdp_answer_t *ans);
static void ngx_webrtc_sdp_put_rtpmap(ngx_webrtc_sdp_buf_t *b,
    ngx_webrtc_sdp_codec_t *c, unsigned start);


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

    if (ngx_webrtc_caseeq(a->data, a->len, "sha-1")) {
        /* RFC 8827 6.5: SHA-256 or stronger */
        *error = "SHA-1 fingerprints are refused, use sha-256";
        return NGX_WEBRTC_PARSE_ERROR;
    }

    if (!ngx_webrtc_caseeq(a->data, a->len, "sha-224")
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
    unsigned                  i, k, port, nlayers;
    ngx_webrtc_sdp_buf_t      b;
    ngx_webrtc_str_t          layers[NGX_WEBRTC_SDP_MAX_LAYERS];
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
                                       "a=max-message-size:");
                ngx_webrtc_sdp_put_num(&b, ans->max_message);
                ngx_webrtc_sdp_put(&b, "\r\n");
            }

        } else {
            ngx_webrtc_sdp_put(&b, "a=rtcp-mux\r\n");

            if (m->rtcp_rsize) {
                ngx_webrtc_sdp_put(&b, "a=rtcp-rsize\r\n");
            }

            nlayers = 0;

            if (ans->direction == NGX_WEBRTC_DIR_RECVONLY) {
                nlayers = ngx_webrtc_sdp_layers(m, layers);

                if (ngx_webrtc_sdp_extmap_id(m, NGX_WEBRTC_EXT_RID) == 0) {
                    /* layers that cannot be told apart: one is enough */
                    nlayers = 0;
                }
            }

            /*
             * A browser estimates its uplink from feedback we do not
             * send (transport-cc, REMB): from its default start (300
             * kbit/s) its loss-based estimate takes about 20 s to enable
             * the upper layers.  So simulcast starts it where every layer
             * of 720p fits; loss still brings it down.
             */
            ngx_webrtc_sdp_put_rtpmap(&b, c,
                                      nlayers ? NGX_WEBRTC_SDP_SIMULCAST_START
                                              : 0);

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
                if (!ngx_webrtc_sdp_extmap_kept(&m->extmaps[k].uri)
                    && !(nlayers
                         && (ngx_webrtc_sdp_eq(&m->extmaps[k].uri,
                                               NGX_WEBRTC_EXT_RID)
                             || ngx_webrtc_sdp_eq(&m->extmaps[k].uri,
                                                  NGX_WEBRTC_EXT_RRID))))
                {
                    continue;
                }

                ngx_webrtc_sdp_put(&b, "a=extmap:");
                ngx_webrtc_sdp_put_num(&b, m->extmaps[k].id);
                ngx_webrtc_sdp_put(&b, " ");
                ngx_webrtc_sdp_put_str(&b, &m->extmaps[k].uri);
                ngx_webrtc_sdp_put(&b, "\r\n");
            }

            /* simulcast: every layer offered is received (RFC 8853) */

            for (k = 0; k < nlayers; k++) {
                ngx_webrtc_sdp_put(&b, "a=rid:");
                ngx_webrtc_sdp_put_str(&b, &layers[k]);
                ngx_webrtc_sdp_put(&b, " recv\r\n");
            }

            for (k = 0; k < nlayers; k++) {
                ngx_webrtc_sdp_put(&b, k ? ";" : "a=simulcast:recv ");
                ngx_webrtc_sdp_put_str(&b, &layers[k]);
            }

            if (nlayers) {
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

        ngx_webrtc_sdp_put_candidates(&b, ans);
    }

    if (b.overflow) {
        return 0;
    }

    return b.pos - buf;
}


size_t
ngx_webrtc_sdp_frag_answer(u_char *buf, size_t size,
    ngx_webrtc_sdp_frag_t *frag, ngx_webrtc_sdp_answer_t *ans)
{
    ngx_webrtc_sdp_buf_t  b;

    b.pos = buf;
    b.end = buf + size;
    b.overflow = 0;

    ngx_webrtc_sdp_put(&b, "a=ice-lite\r\na=ice-ufrag:");
    ngx_webrtc_sdp_put_str(&b, &ans->ufrag);
    ngx_webrtc_sdp_put(&b, "\r\na=ice-pwd:");
    ngx_webrtc_sdp_put_str(&b, &ans->pwd);
    ngx_webrtc_sdp_put(&b, "\r\n");

    /* RFC 8840: candidates belong to an m-section, named by its mid */

    if (frag->media.len && frag->mid.len) {
        ngx_webrtc_sdp_put(&b, "m=");
        ngx_webrtc_sdp_put_str(&b, &frag->media);
        ngx_webrtc_sdp_put(&b, "\r\na=mid:");
        ngx_webrtc_sdp_put_str(&b, &frag->mid);
        ngx_webrtc_sdp_put(&b, "\r\n");
    }

    ngx_webrtc_sdp_put_candidates(&b, ans);

    if (b.overflow) {
        return 0;
    }

    return b.pos - buf;
}


/* the server's host candidates, as in the answer and a restart's frag */

static void
ngx_webrtc_sdp_put_candidates(ngx_webrtc_sdp_buf_t *b,
    ngx_webrtc_sdp_answer_t *ans)
{
    unsigned  j;

    for (j = 0; j < ans->ncandidate_addrs
                && j < NGX_WEBRTC_SDP_MAX_CANDIDATES; j++)
    {
        /* host type preference 126, local preference by order */
        ngx_webrtc_sdp_put(b, "a=candidate:");
        ngx_webrtc_sdp_put_num(b, j + 1);
        ngx_webrtc_sdp_put(b, " 1 udp ");
        ngx_webrtc_sdp_put_num(b, (126u << 24) + ((65535u - j) << 8) + 255);
        ngx_webrtc_sdp_put(b, " ");
        ngx_webrtc_sdp_put_str(b, &ans->candidate_addrs[j]);
        ngx_webrtc_sdp_put(b, " ");
        ngx_webrtc_sdp_put_num(b, ans->port);
        ngx_webrtc_sdp_put(b, " typ host\r\n");
    }

    for (j = 0; ans->tcp_port && j < ans->ncandidate_addrs
                && j < NGX_WEBRTC_SDP_MAX_CANDIDATES; j++)
    {
        /*
         * ICE-TCP (RFC 6544), passive: type preference 90, below UDP's
         * 126, so that browsers take TCP only when UDP fails
         */
        ngx_webrtc_sdp_put(b, "a=candidate:");
        ngx_webrtc_sdp_put_num(b, NGX_WEBRTC_SDP_MAX_CANDIDATES + j + 1);
        ngx_webrtc_sdp_put(b, " 1 tcp ");
        ngx_webrtc_sdp_put_num(b, (90u << 24) + ((65535u - j) << 8) + 255);
        ngx_webrtc_sdp_put(b, " ");
        ngx_webrtc_sdp_put_str(b, &ans->candidate_addrs[j]);
        ngx_webrtc_sdp_put(b, " ");
        ngx_webrtc_sdp_put_num(b, ans->tcp_port);
        ngx_webrtc_sdp_put(b, " typ host tcptype passive\r\n");
    }

    ngx_webrtc_sdp_put(b, "a=end-of-candidates\r\n");
}


static void
ngx_webrtc_sdp_put_rtpmap(ngx_webrtc_sdp_buf_t *b, ngx_webrtc_sdp_codec_t *c,
    unsigned start)
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

    if (c->fmtp.len || start) {
        ngx_webrtc_sdp_put(b, "a=fmtp:");
        ngx_webrtc_sdp_put_num(b, c->pt);
        ngx_webrtc_sdp_put(b, " ");
        ngx_webrtc_sdp_put_str(b, &c->fmtp);

        if (start) {
            ngx_webrtc_sdp_put(b, c->fmtp.len ? ";x-google-start-bitrate="
                                              : "x-google-start-bitrate=");
            ngx_webrtc_sdp_put_num(b, start);
        }

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
