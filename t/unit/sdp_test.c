
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * Unit tests of the SDP parser, offer selection and answer writer against
 * offers captured from real clients (t/data/offers/).  Prints TAP; run
 * from the repository root.
 */

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>

#include "ngx_webrtc_sdp.h"


#define OFFERS  "t/data/offers/"

#define PE(s)   parse_error(s, sizeof(s) - 1)


static unsigned  ntests, nfailed;


static void
ok(int cond, const char *fmt, ...)
{
    va_list  ap;

    ntests++;

    if (!cond) {
        nfailed++;
    }

    printf("%sok %u - ", cond ? "" : "not ", ntests);

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);

    printf("\n");
}


static int
is(ngx_webrtc_str_t *s, const char *lit)
{
    return s->len == strlen(lit) && memcmp(s->data, lit, s->len) == 0;
}


static char *
load(const char *name, size_t *len)
{
    char    path[256], *buf;
    long    n;
    FILE   *f;

    snprintf(path, sizeof(path), OFFERS "%s", name);

    f = fopen(path, "rb");
    if (f == NULL) {
        printf("Bail out! cannot open %s (run from the repository root)\n",
               path);
        exit(2);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc(n + 1);
    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        printf("Bail out! cannot read %s\n", path);
        exit(2);
    }

    fclose(f);

    buf[n] = '\0';
    *len = n;

    return buf;
}


/* every occurrence of "from" replaced; a new NUL-terminated string */

static char *
replace(const char *s, const char *from, const char *to)
{
    char        *out, *o;
    size_t       nf, nt, count;
    const char  *p;

    nf = strlen(from);
    nt = strlen(to);
    count = 0;

    for (p = strstr(s, from); p; p = strstr(p + nf, from)) {
        count++;
    }

    out = malloc(strlen(s) + count * (nt + 1) + 1);
    o = out;

    for (p = s; *p; ) {
        if (strncmp(p, from, nf) == 0) {
            memcpy(o, to, nt);
            o += nt;
            p += nf;

        } else {
            *o++ = *p++;
        }
    }

    *o = '\0';

    return out;
}


/* lines starting with prefix dropped */

static char *
drop_lines(const char *s, const char *prefix)
{
    char        *out, *o;
    size_t       n;
    const char  *p, *nl;

    out = malloc(strlen(s) + 1);
    o = out;
    n = strlen(prefix);

    for (p = s; *p; p = nl) {
        nl = strchr(p, '\n');
        nl = nl ? nl + 1 : p + strlen(p);

        if (strncmp(p, prefix, n) != 0) {
            memcpy(o, p, nl - p);
            o += nl - p;
        }
    }

    *o = '\0';

    return out;
}


static int
has(const u_char *buf, size_t len, const char *lit)
{
    size_t  i, n;

    n = strlen(lit);

    for (i = 0; i + n <= len; i++) {
        if (memcmp(buf + i, lit, n) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
prefs_init(ngx_webrtc_sdp_prefs_t *prefs, int vp8_first, int ingest)
{
    memset(prefs, 0, sizeof(ngx_webrtc_sdp_prefs_t));

    if (vp8_first) {
        prefs->video_codecs[0] = NGX_WEBRTC_CODEC_VP8;
        prefs->video_codecs[1] = NGX_WEBRTC_CODEC_H264;

    } else {
        prefs->video_codecs[0] = NGX_WEBRTC_CODEC_H264;
        prefs->video_codecs[1] = NGX_WEBRTC_CODEC_VP8;
    }

    prefs->video_codecs[2] = NGX_WEBRTC_CODEC_VP9;
    prefs->video_codecs[3] = NGX_WEBRTC_CODEC_AV1;
    prefs->video_codecs[4] = NGX_WEBRTC_CODEC_H265;
    prefs->nvideo_codecs = 5;

    prefs->audio_codecs[0] = NGX_WEBRTC_CODEC_OPUS;
    prefs->naudio_codecs = 1;

    prefs->ingest = ingest;
}


static void
answer_init(ngx_webrtc_sdp_answer_t *ans, ngx_webrtc_direction_e dir)
{
    memset(ans, 0, sizeof(ngx_webrtc_sdp_answer_t));

    ans->ufrag.data = (u_char *) "srvU";
    ans->ufrag.len = 4;
    ans->pwd.data = (u_char *) "serverpasswordserverpass";
    ans->pwd.len = 24;
    ans->fingerprint.data = (u_char *) "sha-256 AA:BB:CC:DD";
    ans->fingerprint.len = 19;
    ans->candidate_addrs[0].data = (u_char *) "192.0.2.1";
    ans->candidate_addrs[0].len = 9;
    ans->candidate_addrs[1].data = (u_char *) "2001:db8::1";
    ans->candidate_addrs[1].len = 11;
    ans->ncandidate_addrs = 2;
    ans->port = 8189;
    ans->session_version = 1700000000123ULL;
    ans->direction = dir;
    ans->ssrc_audio = 11111;
    ans->ssrc_video = 22222;
    ans->max_message = 65536;
}


static int
chosen_pt(ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_selection_t *sel, int i)
{
    if (i < 0 || sel->media[i].codec < 0) {
        return -1;
    }

    return sdp->media[i].codecs[sel->media[i].codec].pt;
}


static int
rtx_pt(ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_selection_t *sel, int i)
{
    if (i < 0 || sel->media[i].rtx < 0) {
        return -1;
    }

    return sdp->media[i].codecs[sel->media[i].rtx].pt;
}


static ngx_webrtc_sdp_codec_t *
codec_by_pt(ngx_webrtc_sdp_media_t *m, unsigned pt)
{
    unsigned  i;

    for (i = 0; i < m->ncodecs; i++) {
        if (m->codecs[i].pt == pt) {
            return &m->codecs[i];
        }
    }

    return NULL;
}


static const char *
select_error(const char *text, int ingest)
{
    static ngx_webrtc_sdp_t     sdp;
    ngx_webrtc_sdp_prefs_t      prefs;
    ngx_webrtc_sdp_selection_t  sel;

    if (ngx_webrtc_sdp_parse(&sdp, (u_char *) text, strlen(text))
        != NGX_WEBRTC_PARSE_OK)
    {
        return sdp.error ? sdp.error : "parse failed without reason";
    }

    prefs_init(&prefs, 0, ingest);

    if (ngx_webrtc_sdp_select(&sdp, &prefs, &sel) == NGX_WEBRTC_PARSE_OK) {
        return NULL;
    }

    return sel.error ? sel.error : "select failed without reason";
}


static const char *
parse_error(const char *text, size_t len)
{
    static ngx_webrtc_sdp_t  sdp;

    if (ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len)
        == NGX_WEBRTC_PARSE_OK)
    {
        return NULL;
    }

    return sdp.error ? sdp.error : "no reason";
}


static int
streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}


/*
 * Parses, selects, answers and re-parses one offer; checks what every
 * accepted offer must give.  Returns the answer length.
 */

static size_t
roundtrip(const char *name, ngx_webrtc_sdp_t *sdp, int vp8_first,
    int ingest, ngx_webrtc_sdp_selection_t *sel, u_char *ans_buf,
    size_t size)
{
    int                         rc;
    size_t                      n, k;
    unsigned                    i;
    ngx_webrtc_direction_e      dir;
    ngx_webrtc_sdp_prefs_t      prefs;
    ngx_webrtc_sdp_answer_t     ans;
    static ngx_webrtc_sdp_t     re;

    prefs_init(&prefs, vp8_first, ingest);

    rc = ngx_webrtc_sdp_select(sdp, &prefs, sel);
    ok(rc == NGX_WEBRTC_PARSE_OK, "%s: select (%s)", name,
       sel->error ? sel->error : "ok");

    dir = ingest ? NGX_WEBRTC_DIR_RECVONLY : NGX_WEBRTC_DIR_SENDONLY;
    answer_init(&ans, dir);

    n = ngx_webrtc_sdp_answer(ans_buf, size, sdp, sel, &ans);
    ok(n > 0 && n < size, "%s: answer written (%zu bytes)", name, n);

    if (n == 0) {
        return 0;
    }

    rc = ngx_webrtc_sdp_parse(&re, ans_buf, n);
    ok(rc == NGX_WEBRTC_PARSE_OK, "%s: answer re-parses (%s)", name,
       re.error ? re.error : "ok");
    ok(re.nmedia == sdp->nmedia, "%s: answer has every m-section", name);
    ok(re.ice_lite, "%s: answer is ice-lite", name);
    ok(has(ans_buf, n, "a=setup:passive\r\n"), "%s: setup:passive", name);
    ok(has(ans_buf, n,
           "a=candidate:1 1 udp 2130706431 192.0.2.1 8189 typ host\r\n")
       && has(ans_buf, n,
           "a=candidate:2 1 udp 2130706175 2001:db8::1 8189 typ host\r\n"),
       "%s: host candidates", name);
    ok(!has(ans_buf, n, "goog-remb"), "%s: no goog-remb", name);
    ok(memcmp(ans_buf, "v=0\r\n", 5) == 0 && ans_buf[n - 1] == '\n'
       && ans_buf[n - 2] == '\r', "%s: CRLF lines", name);

    for (i = 0; i < sdp->nmedia && i < re.nmedia; i++) {
        ngx_webrtc_sdp_transport_t  t;

        ngx_webrtc_sdp_transport(&re, i, &t);

        ok(is(&re.media[i].mid, "") || (re.media[i].mid.len
                                        == sdp->media[i].mid.len
           && memcmp(re.media[i].mid.data, sdp->media[i].mid.data,
                     re.media[i].mid.len) == 0),
           "%s: answer m-section %u mid", name, i);
        ok(is(&t.ufrag, "srvU") && t.setup == NGX_WEBRTC_SETUP_PASSIVE
           && is(&t.fp_alg, "sha-256"),
           "%s: answer m-section %u transport", name, i);

        if (re.media[i].type == NGX_WEBRTC_MEDIA_APPLICATION) {
            continue;
        }

        ok(re.media[i].direction == dir && re.media[i].rtcp_mux,
           "%s: answer m-section %u direction and rtcp-mux", name, i);
        ok(re.media[i].nfmts >= 1
           && (int) re.media[i].fmts[0] == chosen_pt(sdp, sel, i),
           "%s: answer m-section %u payload type %d", name, i,
           chosen_pt(sdp, sel, i));
    }

    /* bounded writes: every shorter buffer is refused, none overrun */

    for (k = 0; k < n; k++) {
        u_char  *small = malloc(k ? k : 1);

        if (ngx_webrtc_sdp_answer(small, k, sdp, sel, &ans) != 0) {
            free(small);
            break;
        }

        free(small);
    }

    ok(k == n, "%s: answer refused in every buffer shorter than %zu",
       name, n);

    return n;
}


static void
test_obs(void)
{
    char                        *text;
    size_t                       len, n;
    ngx_webrtc_sdp_media_t      *a, *v;
    ngx_webrtc_sdp_transport_t   t;
    ngx_webrtc_sdp_selection_t   sel;
    static ngx_webrtc_sdp_t      sdp;
    static u_char                buf[16384];

    text = load("obs.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK,
       "obs: parses");

    a = &sdp.media[0];
    v = &sdp.media[1];

    ok(sdp.nmedia == 2 && a->type == NGX_WEBRTC_MEDIA_AUDIO
       && v->type == NGX_WEBRTC_MEDIA_VIDEO, "obs: audio and video");
    ok(sdp.nbundle == 2 && is(&sdp.bundle[0], "0") && is(&sdp.bundle[1], "1"),
       "obs: BUNDLE 0 1 (LS group ignored)");
    ok(is(&a->mid, "0") && is(&v->mid, "1"), "obs: mids");
    ok(is(&sdp.transport.ufrag, "A9Tz") && a->transport.ufrag.len == 0
       && sdp.transport.setup == NGX_WEBRTC_SETUP_ACTPASS
       && is(&sdp.transport.fp_alg, "sha-256"),
       "obs: transport at session level");

    ngx_webrtc_sdp_transport(&sdp, 1, &t);
    ok(is(&t.ufrag, "A9Tz") && is(&t.pwd, "NwmkkpdiseRUFHRj7OPQaG")
       && t.fp.len == 95, "obs: effective transport from the session");

    ok(sdp.ice_trickle, "obs: ice-options ice2,trickle");
    ok(a->rtcp_mux && !a->rtcp_mux_only && v->rtcp_mux && !v->rtcp_mux_only,
       "obs: rtcp-mux without rtcp-mux-only");
    ok(a->direction == NGX_WEBRTC_DIR_SENDONLY
       && v->direction == NGX_WEBRTC_DIR_SENDONLY, "obs: sendonly");
    ok(a->ncodecs == 1 && a->codecs[0].pt == 111
       && a->codecs[0].codec == NGX_WEBRTC_CODEC_OPUS
       && is(&a->codecs[0].name, "OPUS") && a->codecs[0].clock_rate == 48000
       && a->codecs[0].channels == 2, "obs: upper-case OPUS/48000/2");
    ok(is(&a->codecs[0].fmtp, "minptime=10;maxaveragebitrate=96000;stereo=1;"
                              "sprop-stereo=1;useinbandfec=1"),
       "obs: opus stereo fmtp");
    ok(v->ncodecs == 1 && v->codecs[0].pt == 96
       && v->codecs[0].codec == NGX_WEBRTC_CODEC_H264
       && v->codecs[0].fb_nack && v->codecs[0].fb_pli
       && v->codecs[0].fb_remb && !v->codecs[0].fb_fir,
       "obs: H264 96 with nack, pli, remb");
    ok(a->ssrc == 2886214570u && v->ssrc == 1734208417u && v->rtx_ssrc == 0,
       "obs: ssrcs");
    ok(is(&v->msid, "obs-studio obs-studio-video"), "obs: msid");
    ok(a->ncandidates == 0 && v->ncandidates == 0, "obs: no candidates");

    n = roundtrip("obs", &sdp, 0, 1, &sel, buf, sizeof(buf));

    ok(sel.audio == 0 && sel.video == 1 && sel.application == -1
       && chosen_pt(&sdp, &sel, 0) == 111 && chosen_pt(&sdp, &sel, 1) == 96
       && rtx_pt(&sdp, &sel, 1) == -1, "obs: opus 111, H264 96, no rtx");
    ok(is(&sel.transport.ufrag, "A9Tz"), "obs: selected transport");
    ok(has(buf, n, "a=group:BUNDLE 0 1\r\n")
       && has(buf, n, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n")
       && has(buf, n, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n")
       && has(buf, n, "a=rtpmap:111 OPUS/48000/2\r\n")
       && has(buf, n, "a=fmtp:96 profile-level-id=42e01f;packetization-mode"
                      "=1;level-asymmetry-allowed=1\r\n")
       && has(buf, n, "a=rtcp-fb:96 nack pli\r\n")
       && has(buf, n, "a=recvonly\r\n")
       && !has(buf, n, "a=ssrc:")
       && has(buf, n, "a=end-of-candidates\r\n")
       && has(buf, n, "o=- 1700000000123 2 IN IP4 127.0.0.1\r\n"),
       "obs: answer lines");

    free(text);
}


static void
test_libdatachannel(void)
{
    char                        *text;
    size_t                       len;
    ngx_webrtc_sdp_transport_t   t;
    ngx_webrtc_sdp_selection_t   sel;
    static ngx_webrtc_sdp_t      sdp;
    static u_char                buf[16384];

    /* a current libdatachannel: ICE and setup per m-line, fingerprint not */

    text = load("libdatachannel.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK,
       "libdatachannel: parses");

    ngx_webrtc_sdp_transport(&sdp, 0, &t);

    ok(is(&t.ufrag, "A9Tz") && t.setup == NGX_WEBRTC_SETUP_ACTPASS
       && t.fp.len == 95 && sdp.transport.ufrag.len == 0,
       "libdatachannel: media ufrag with session fingerprint");
    ok(is(&sdp.media[0].codecs[0].name, "opus"), "libdatachannel: opus");

    roundtrip("libdatachannel", &sdp, 0, 1, &sel, buf, sizeof(buf));

    free(text);
}


static void
test_chromium(void)
{
    char                        *text, *lf, *prefix;
    size_t                       len, n, i;
    unsigned                     crashes;
    ngx_webrtc_sdp_media_t      *a, *v;
    ngx_webrtc_sdp_codec_t      *c;
    ngx_webrtc_sdp_prefs_t       prefs;
    ngx_webrtc_sdp_answer_t      ans;
    ngx_webrtc_sdp_selection_t   sel;
    static ngx_webrtc_sdp_t      sdp, sdp2;
    static u_char                buf[16384];

    text = load("chromium.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK,
       "chromium: parses");

    a = &sdp.media[0];
    v = &sdp.media[1];

    ok(sdp.nmedia == 2 && is(&a->mid, "0") && is(&v->mid, "1")
       && sdp.nbundle == 2, "chromium: two bundled m-sections");
    ok(is(&a->proto, "UDP/TLS/RTP/SAVPF") && a->port == 51478
       && v->port == 37599, "chromium: m-lines");
    ok(a->nfmts == 8 && v->nfmts == 23, "chromium: formats");
    ok(a->ncandidates == 2 && v->ncandidates == 2
       && !a->end_of_candidates, "chromium: udp and tcp candidates");
    ok(a->rtcp_mux && a->rtcp_rsize && v->rtcp_mux && v->rtcp_rsize,
       "chromium: rtcp-mux, rtcp-rsize");
    ok(is(&a->transport.ufrag, "b1jv") && is(&v->transport.ufrag, "b1jv")
       && a->transport.setup == NGX_WEBRTC_SETUP_ACTPASS,
       "chromium: transport in every m-section");
    ok(a->nextmaps == 4 && v->nextmaps == 11 && v->extmaps[0].id == 14
       && is(&v->extmaps[0].uri, "urn:ietf:params:rtp-hdrext:toffset"),
       "chromium: extmaps");
    ok(v->ssrc == 3963618604u && v->rtx_ssrc == 3616527322u
       && a->ssrc == 2999395170u, "chromium: ssrc and FID group");

    c = codec_by_pt(v, 108);
    ok(c && c->codec == NGX_WEBRTC_CODEC_H264 && c->fb_nack && c->fb_pli
       && c->fb_fir && c->fb_remb && c->fb_twcc,
       "chromium: H264 108 feedback");

    c = codec_by_pt(v, 109);
    ok(c && c->codec == NGX_WEBRTC_CODEC_RTX && c->has_apt && c->apt == 108,
       "chromium: rtx 109 apt=108");

    c = codec_by_pt(a, 63);
    ok(c && c->codec == NGX_WEBRTC_CODEC_RED && c->channels == 2
       && is(&c->fmtp, "111/111"), "chromium: red");

    c = codec_by_pt(a, 110);
    ok(c && c->codec == NGX_WEBRTC_CODEC_TELEPHONE_EVENT
       && c->clock_rate == 48000, "chromium: telephone-event");

    n = roundtrip("chromium", &sdp, 0, 1, &sel, buf, sizeof(buf));

    ok(chosen_pt(&sdp, &sel, 0) == 111 && chosen_pt(&sdp, &sel, 1) == 108
       && rtx_pt(&sdp, &sel, 1) == 109,
       "chromium: opus 111, H264 108 (42e01f mode 1), rtx 109");
    ok(has(buf, n, "m=video 9 UDP/TLS/RTP/SAVPF 108 109\r\n")
       && has(buf, n, "a=rtpmap:109 rtx/90000\r\na=fmtp:109 apt=108\r\n")
       && !has(buf, n, "transport-cc")
       && has(buf, n, "a=rtcp-fb:108 ccm fir\r\n")
       && has(buf, n, "a=rtcp-rsize\r\n")
       && has(buf, n, "a=fmtp:111 minptime=10;useinbandfec=1\r\n"),
       "chromium: answer codec lines");
    ok(has(buf, n, "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n")
       && !has(buf, n, "abs-send-time") && !has(buf, n, "transport-wide")
       && !has(buf, n, "toffset") && !has(buf, n, "audio-level")
       && !has(buf, n, "rtp-stream-id"),
       "chromium: answer keeps only the mid extmap (no feedback is sent)");

    roundtrip("chromium vp8 first", &sdp, 1, 1, &sel, buf, sizeof(buf));

    ok(chosen_pt(&sdp, &sel, 1) == 96 && rtx_pt(&sdp, &sel, 1) == 97,
       "chromium: VP8 96 rtx 97 when VP8 is preferred");

    prefs_init(&prefs, 0, 1);
    prefs.video_codecs[0] = NGX_WEBRTC_CODEC_AV1;
    prefs.nvideo_codecs = 1;
    ok(ngx_webrtc_sdp_select(&sdp, &prefs, &sel) == NGX_WEBRTC_PARSE_OK
       && chosen_pt(&sdp, &sel, 1) == 45 && rtx_pt(&sdp, &sel, 1) == 46,
       "chromium: AV1 45 rtx 46");

    prefs.video_codecs[0] = NGX_WEBRTC_CODEC_VP9;
    ok(ngx_webrtc_sdp_select(&sdp, &prefs, &sel) == NGX_WEBRTC_PARSE_OK
       && chosen_pt(&sdp, &sel, 1) == 98, "chromium: VP9 profile 0 (98)");

    prefs.video_codecs[0] = NGX_WEBRTC_CODEC_H265;
    ok(ngx_webrtc_sdp_select(&sdp, &prefs, &sel) == NGX_WEBRTC_PARSE_ERROR
       && streq(sel.error, "no common video codec"),
       "chromium: no H265 offered is a 422");

    /* the same offer with LF line ends */

    lf = replace(text, "\r\n", "\n");

    ok(ngx_webrtc_sdp_parse(&sdp2, (u_char *) lf, strlen(lf))
       == NGX_WEBRTC_PARSE_OK && sdp2.nmedia == 2
       && sdp2.media[1].ncodecs == sdp.media[1].ncodecs
       && codec_by_pt(&sdp2.media[1], 108)
       && is(&codec_by_pt(&sdp2.media[1], 108)->fmtp,
             "level-asymmetry-allowed=1;"
                                       "packetization-mode=1;"
                                       "profile-level-id=42e01f"),
       "chromium: LF line ends");

    free(lf);

    /* every truncation: parse and, where that succeeds, select and answer */

    crashes = 0;
    answer_init(&ans, NGX_WEBRTC_DIR_RECVONLY);
    prefs_init(&prefs, 0, 1);

    for (i = 0; i <= len; i++) {
        prefix = malloc(i ? i : 1);
        memcpy(prefix, text, i);

        if (ngx_webrtc_sdp_parse(&sdp2, (u_char *) prefix, i)
            == NGX_WEBRTC_PARSE_OK)
        {
            if (ngx_webrtc_sdp_select(&sdp2, &prefs, &sel)
                == NGX_WEBRTC_PARSE_OK)
            {
                n = ngx_webrtc_sdp_answer(buf, sizeof(buf), &sdp2, &sel,
                                          &ans);
                if (n == 0
                    || ngx_webrtc_sdp_parse(&sdp2, buf, n)
                       != NGX_WEBRTC_PARSE_OK)
                {
                    crashes++;
                }
            }

        } else if (sdp2.error == NULL) {
            crashes++;
        }

        free(prefix);
    }

    ok(crashes == 0, "chromium: all %zu prefixes handled", len + 1);

    free(text);
}


static void
test_chromium_more(void)
{
    char                        *text;
    size_t                       len, n;
    ngx_webrtc_sdp_media_t      *m;
    ngx_webrtc_sdp_prefs_t       prefs;
    ngx_webrtc_sdp_selection_t   sel;
    static ngx_webrtc_sdp_t      sdp;
    static u_char                buf[16384];

    text = load("chromium-vp8.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK
       && sdp.media[1].nfmts == 2, "chromium-vp8: parses");

    roundtrip("chromium-vp8", &sdp, 0, 1, &sel, buf, sizeof(buf));

    ok(chosen_pt(&sdp, &sel, 1) == 96 && rtx_pt(&sdp, &sel, 1) == 97,
       "chromium-vp8: VP8 although H264 is preferred");

    free(text);

    text = load("chromium-recvonly.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK,
       "chromium-recvonly: parses");

    m = &sdp.media[1];

    ok(m->direction == NGX_WEBRTC_DIR_RECVONLY && m->nfmts == 34
       && m->ncodecs == 34 && m->ssrc == 0,
       "chromium-recvonly: 34 video formats, no ssrc");

    prefs_init(&prefs, 0, 1);

    ok(ngx_webrtc_sdp_select(&sdp, &prefs, &sel) == NGX_WEBRTC_PARSE_ERROR
       && streq(sel.error, "offer must send media"),
       "chromium-recvonly: refused for ingest");

    n = roundtrip("chromium-recvonly", &sdp, 0, 0, &sel, buf, sizeof(buf));

    ok(has(buf, n, "a=sendonly\r\n") && has(buf, n, "a=ssrc:11111 cname:nginx")
       && has(buf, n, "a=ssrc:22222 cname:nginx"),
       "chromium-recvonly: sendonly answer with our ssrcs");

    free(text);

    text = load("chromium-dc.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK,
       "chromium-dc: parses");

    m = &sdp.media[0];

    ok(sdp.nmedia == 1 && m->type == NGX_WEBRTC_MEDIA_APPLICATION
       && is(&m->proto, "UDP/DTLS/SCTP") && m->sctp_port == 5000
       && m->max_message_size == 262144 && !m->legacy_sctp && m->nfmts == 0,
       "chromium-dc: sctp-port 5000, max-message-size 262144");

    n = roundtrip("chromium-dc", &sdp, 0, 1, &sel, buf, sizeof(buf));

    ok(sel.application == 0 && sel.audio == -1 && sel.video == -1
       && has(buf, n, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n")
       && has(buf, n, "a=sctp-port:5000\r\n")
       && has(buf, n, "a=max-message-size:65536\r\n")
       && !has(buf, n, "a=recvonly"),
       "chromium-dc: application answer");

    free(text);

    text = load("chromium-av-dc.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK
       && sdp.nmedia == 3 && sdp.nbundle == 3, "chromium-av-dc: parses");

    roundtrip("chromium-av-dc", &sdp, 0, 1, &sel, buf, sizeof(buf));

    ok(sel.audio == 0 && sel.video == 1 && sel.application == 2,
       "chromium-av-dc: audio, video, application");

    free(text);
}


static void
test_aiortc(void)
{
    char                        *text;
    size_t                       len, n;
    ngx_webrtc_sdp_media_t      *a, *v, *d;
    ngx_webrtc_sdp_selection_t   sel;
    static ngx_webrtc_sdp_t      sdp;
    static u_char                buf[16384];

    text = load("aiortc.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK,
       "aiortc: parses");

    a = &sdp.media[0];
    v = &sdp.media[1];

    ok(sdp.nmedia == 2 && sdp.nbundle == 2 && a->port != v->port,
       "aiortc: BUNDLE offered, a port per m-line");
    ok(a->transport.ufrag.len && v->transport.ufrag.len
       && !(a->transport.ufrag.len == v->transport.ufrag.len
            && memcmp(a->transport.ufrag.data, v->transport.ufrag.data,
                      a->transport.ufrag.len) == 0),
       "aiortc: ICE credentials per m-line");
    ok(a->ncandidates == 1 && a->end_of_candidates, "aiortc: candidates");
    ok(a->nextmaps == 2 && v->nextmaps == 2 && a->extmaps[1].id == 2
       && v->extmaps[1].id == 2
       && is(&a->extmaps[1].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level")
       && is(&v->extmaps[1].uri, "http://www.webrtc.org/experiments/"
                                 "rtp-hdrext/abs-send-time"),
       "aiortc: extmap id 2 means different things per m-line");
    ok(v->rtx_ssrc != 0 && v->ssrc != 0, "aiortc: FID group");

    n = roundtrip("aiortc", &sdp, 0, 1, &sel, buf, sizeof(buf));

    ok(chosen_pt(&sdp, &sel, 0) == 96 && chosen_pt(&sdp, &sel, 1) == 101
       && rtx_pt(&sdp, &sel, 1) == 102,
       "aiortc: opus 96, H264 101 (42e01f), rtx 102");
    ok(sel.transport.ufrag.len == a->transport.ufrag.len
       && memcmp(sel.transport.ufrag.data, a->transport.ufrag.data,
                 a->transport.ufrag.len) == 0,
       "aiortc: transport of the BUNDLE tag");
    ok(!has(buf, n, "a=extmap:2 ") && !has(buf, n, "audio-level"),
       "aiortc: no extmap id 2 with its per-m-line meanings in the answer");

    roundtrip("aiortc vp8 first", &sdp, 1, 1, &sel, buf, sizeof(buf));

    ok(chosen_pt(&sdp, &sel, 1) == 97 && rtx_pt(&sdp, &sel, 1) == 98,
       "aiortc: VP8 97 rtx 98");

    free(text);

    text = load("aiortc-dc.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK,
       "aiortc-dc: parses");

    d = &sdp.media[2];

    ok(sdp.nmedia == 3 && d->type == NGX_WEBRTC_MEDIA_APPLICATION
       && is(&d->proto, "DTLS/SCTP") && d->legacy_sctp && d->sctp_port == 5000
       && d->max_message_size == 65536, "aiortc-dc: legacy DTLS/SCTP 5000");

    n = roundtrip("aiortc-dc", &sdp, 0, 1, &sel, buf, sizeof(buf));

    ok(sel.application == 2
       && has(buf, n, "m=application 9 DTLS/SCTP 5000\r\n")
       && has(buf, n, "a=sctpmap:5000 webrtc-datachannel 1024\r\n")
       && !has(buf, n, "a=sctp-port"),
       "aiortc-dc: legacy data channel answer");

    free(text);
}


static void
test_gstreamer(void)
{
    char                        *text;
    size_t                       len, n;
    ngx_webrtc_sdp_media_t      *a, *v;
    ngx_webrtc_sdp_selection_t   sel;
    static ngx_webrtc_sdp_t      sdp;
    static u_char                buf[16384];

    text = load("gstreamer.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK,
       "gstreamer: parses");

    a = &sdp.media[0];
    v = &sdp.media[1];

    ok(sdp.nbundle == 2 && is(&sdp.bundle[0], "audio0")
       && is(&sdp.bundle[1], "video1"), "gstreamer: BUNDLE audio0 video1");
    ok(v->port == 0 && v->bundle_only && !a->bundle_only,
       "gstreamer: bundle-only video");
    ok(a->rtcp_mux && a->rtcp_mux_only, "gstreamer: rtcp-mux-only");
    ok(a->ncandidates == 3 && v->ncandidates == 0 && !a->end_of_candidates,
       "gstreamer: udp and tcp candidates");
    ok(v->ncodecs == 1 && v->codecs[0].fb_pli && !v->codecs[0].fb_nack
       && v->codecs[0].fb_fir && v->codecs[0].fb_twcc,
       "gstreamer: nack pli without plain nack");

    n = roundtrip("gstreamer", &sdp, 0, 1, &sel, buf, sizeof(buf));

    ok(chosen_pt(&sdp, &sel, 0) == 111 && chosen_pt(&sdp, &sel, 1) == 96,
       "gstreamer: OPUS 111, H264 96 without profile-level-id");
    ok(has(buf, n, "a=group:BUNDLE audio0 video1\r\n")
       && has(buf, n, "m=video 9 ") && !has(buf, n, "bundle-only"),
       "gstreamer: answer bundles the bundle-only section");

    free(text);
}


static void
test_errors(void)
{
    int                          rc;
    char                        *text, *bad, *t2;
    size_t                       len, i;
    unsigned                     k;
    ngx_webrtc_sdp_prefs_t       prefs;
    ngx_webrtc_sdp_selection_t   sel;
    static ngx_webrtc_sdp_t      sdp;
    static char                  big[4096];
    static char                  wildcard[] =
        "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 100 101\na=rtcp-fb:* nack\n"
        "a=fmtp:101 apt=100\na=rtpmap:100 HEVC/90000\n"
        "a=rtpmap:101 RTX/90000\na=rtcp-fb:* ccm fir\n";

    ok(streq(PE(""), "empty"), "error: empty");
    ok(PE("hello world\r\n") != NULL, "error: garbage");
    ok(streq(PE("o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n"),
             "no v=0 line"), "error: no v=0 first");
    ok(streq(PE("v=1\r\n"), "no v=0 line"), "error: v=1");
    ok(streq(PE("\r\n\r\n"), "no v=0 line"), "error: blank");
    ok(PE("v=0\r\n") == NULL, "v=0 alone parses");
    ok(streq(PE("v=0\r\nm=audio\r\n"), "bad m= line"),
       "error: m= without port");
    ok(streq(PE("v=0\nm=audio 9 UDP/TLS/RTP/SAVPF\n"),
             "bad m= line"), "error: m= without formats");
    ok(streq(PE("v=0\nm=audio 99999 UDP/TLS/RTP/SAVPF 111\n"),
             "bad m= line"), "error: port out of range");
    ok(streq(PE("v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 128\n"),
             "bad m= line"), "error: payload type out of range");
    ok(streq(PE("v=0\nm=audio 9 UDP/TLS/RTP/SAVPF "
                         "999999999999999999999999999999\n"),
             "bad m= line"), "error: huge number");
    ok(streq(PE("v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 96\n"
                         "a=rtpmap:96 opus/4800000000000000000000\n"),
             "bad rtpmap"), "error: huge clock rate");
    ok(streq(PE("v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 96\n"
                         "a=rtpmap:96\n"), "bad rtpmap"),
       "error: empty rtpmap");
    ok(streq(PE("v=0\nm=audio 9 DTLS/SCTP x\n"), "bad m= line"),
       "error: legacy sctp port not a number");
    ok(streq(PE("v=0\r\ns=\0\r\n"), "NUL byte"),
       "error: NUL byte");
    ok(streq(PE("v=0\r\ns=a\rb\r\n"), "control character"),
       "error: stray CR");
    ok(streq(PE("v=0\r\nX=1\r\n"), "bad line"),
       "error: bad line type");
    ok(streq(PE("v=0\r\nnonsense\r\n"), "bad line"),
       "error: line without =");

    strcpy(big, "v=0\r\n");

    for (k = 0; k < NGX_WEBRTC_SDP_MAX_MEDIA + 1; k++) {
        strcat(big, "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n");
    }

    ok(streq(parse_error(big, strlen(big)), "too many m-sections"),
       "error: too many m-sections");

    /* arrays full: extra entries are ignored */

    strcpy(big, "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n");

    for (k = 0; k < 20; k++) {
        strcat(big, "a=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n"
                    "a=extmap:1 urn:x\r\n");
    }

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) big, strlen(big))
       == NGX_WEBRTC_PARSE_OK
       && sdp.media[0].ncandidates == NGX_WEBRTC_SDP_MAX_CANDIDATES
       && sdp.media[0].nextmaps == NGX_WEBRTC_SDP_MAX_EXTMAP,
       "full arrays ignore extra entries");

    ok(sdp.media[0].ncodecs == 1
       && sdp.media[0].codecs[0].codec == NGX_WEBRTC_CODEC_PCMU
       && is(&sdp.media[0].codecs[0].name, "PCMU")
       && sdp.media[0].codecs[0].clock_rate == 8000,
       "static payload type 0 without rtpmap is PCMU");

    /* wildcard rtcp-fb, fmtp before rtpmap, HEVC */

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) wildcard, sizeof(wildcard) - 1)
       == NGX_WEBRTC_PARSE_OK
       && sdp.media[0].ncodecs == 2
       && sdp.media[0].codecs[0].pt == 101
       && sdp.media[0].codecs[0].codec == NGX_WEBRTC_CODEC_RTX
       && sdp.media[0].codecs[0].apt == 100
       && sdp.media[0].codecs[1].codec == NGX_WEBRTC_CODEC_H265
       && sdp.media[0].codecs[1].fb_nack && sdp.media[0].codecs[1].fb_fir
       && sdp.media[0].codecs[0].fb_nack,
       "rtcp-fb:*, fmtp before rtpmap, HEVC");

    /* 422s from real offers with one thing changed */

    text = load("chromium.sdp", &len);

    bad = replace(text, "m=audio 51478 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 "
                        "126", "m=video 51478 UDP/TLS/RTP/SAVPF 96 97");
    ok(streq(select_error(bad, 1), "more than one video track"),
       "422: two video m-sections");
    free(bad);

    bad = replace(text, "a=sendonly", "a=inactive");
    ok(streq(select_error(bad, 1), "offer must send media"),
       "422: inactive ingest offer");
    free(bad);

    bad = drop_lines(text, "a=fingerprint");
    ok(streq(select_error(bad, 1), "no fingerprint"), "422: no fingerprint");
    free(bad);

    bad = replace(text, "a=fingerprint:sha-256", "a=fingerprint:md5");
    ok(streq(select_error(bad, 1), "unsupported fingerprint algorithm"),
       "422: md5 fingerprint");
    free(bad);

    bad = drop_lines(text, "a=ice-pwd");
    ok(streq(select_error(bad, 1), "no ICE credentials"),
       "422: no ice-pwd");
    free(bad);

    bad = drop_lines(text, "a=rtcp-mux");
    ok(streq(select_error(bad, 1), "rtcp-mux required"), "422: no rtcp-mux");
    free(bad);

    bad = drop_lines(text, "a=group:BUNDLE");
    ok(streq(select_error(bad, 1), "all m-sections must be bundled"),
       "422: no BUNDLE group");
    free(bad);

    bad = replace(text, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0");
    ok(streq(select_error(bad, 1), "all m-sections must be bundled"),
       "422: one m-section outside the group");
    free(bad);

    bad = replace(text, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2");
    ok(streq(select_error(bad, 1), "bad BUNDLE group"),
       "422: group names a missing mid");
    free(bad);

    bad = replace(text, "m=video 37599", "m=video 0");
    ok(streq(select_error(bad, 1), "offer has a rejected m-section"),
       "422: port 0 without bundle-only");
    free(bad);

    t2 = replace(text, "m=video 37599", "m=video 0");
    bad = replace(t2, "a=mid:1\r\n", "a=mid:1\r\na=bundle-only\r\n");
    ok(select_error(bad, 1) == NULL, "port 0 with bundle-only is fine");
    free(t2);
    free(bad);

    bad = replace(text, "a=setup:actpass", "a=setup:passive");
    ok(streq(select_error(bad, 1), "offer must be setup:actpass or active"),
       "422: setup passive");
    free(bad);

    bad = drop_lines(text, "a=setup");
    ok(select_error(bad, 1) == NULL, "no a=setup means active: accepted");
    free(bad);

    bad = replace(text, "UDP/TLS/RTP/SAVPF", "RTP/AVP");
    ok(streq(select_error(bad, 1), "unsupported media protocol"),
       "422: plain RTP/AVP");
    free(bad);

    bad = replace(text, "a=mid:1", "a=mid:0");
    ok(select_error(bad, 1) != NULL, "422: duplicate mid");
    free(bad);

    free(text);

    ok(streq(select_error("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n"
                          "a=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppp\r\n"
                          "a=fingerprint:sha-256 AB:CD\r\n"
                          "a=setup:actpass\r\n"
                          "m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\n"
                          "a=rtcp-mux\r\na=sendonly\r\n", 1),
             "no common audio codec"), "422: only PCMU/PCMA audio");

    ok(streq(select_error("v=0\r\n", 1), "no m-sections"),
       "422: no m-sections");

    /* selection through a session-level sendonly and a single m-section */

    ok(select_error("v=0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n"
                    "a=fingerprint:SHA-256 AB:CD\r\na=sendonly\r\n"
                    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
                    "a=rtcp-mux\r\na=rtpmap:96 vp8/90000\r\n", 1) == NULL,
       "single m-section without BUNDLE, session-level direction");

    /* every single-byte corruption of an offer is handled */

    text = load("obs.sdp", &len);
    bad = malloc(len);
    prefs_init(&prefs, 0, 1);
    rc = 0;

    for (i = 0; i < len; i++) {
        static const u_char  bytes[] = { 0, ' ', '\n', '9', 'a', ':', 0xff };

        for (k = 0; k < sizeof(bytes); k++) {
            memcpy(bad, text, len);
            bad[i] = bytes[k];

            if (ngx_webrtc_sdp_parse(&sdp, (u_char *) bad, len)
                == NGX_WEBRTC_PARSE_OK)
            {
                if (ngx_webrtc_sdp_select(&sdp, &prefs, &sel)
                    != NGX_WEBRTC_PARSE_OK && sel.error == NULL)
                {
                    rc = 1;
                }

            } else if (sdp.error == NULL) {
                rc = 1;
            }
        }
    }

    ok(rc == 0, "obs: single-byte corruptions give a reason");

    free(bad);
    free(text);
}

/* a PATCH body (RFC 8840): trickle, ICE restart, and what is refused */

static const char *
frag_error(const char *text)
{
    static ngx_webrtc_sdp_frag_t  f;

    if (ngx_webrtc_sdp_frag_parse(&f, (u_char *) text, strlen(text))
        == NGX_WEBRTC_PARSE_OK)
    {
        return NULL;
    }

    return f.error ? f.error : "no reason";
}


static void
test_frag(void)
{
    size_t                    n;
    u_char                    buf[1024];
    const char               *e;
    ngx_webrtc_sdp_frag_t     f;
    ngx_webrtc_sdp_answer_t   ans;

    static char  restart[] =
        "a=ice-options:trickle ice2\r\n"
        "a=ice-ufrag:EsAw\r\n"
        "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        "a=mid:0\r\n"
        "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host\r\n"
        "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host"
        "\r\n"
        "a=end-of-candidates\r\n";

    ok(ngx_webrtc_sdp_frag_parse(&f, (u_char *) restart, strlen(restart))
       == NGX_WEBRTC_PARSE_OK, "frag: restart parses");
    ok(f.ufrag.len == 4 && memcmp(f.ufrag.data, "EsAw", 4) == 0,
       "frag: ufrag");
    ok(f.pwd.len == 24, "frag: pwd");
    ok(f.mid.len == 1 && f.mid.data[0] == '0', "frag: mid");
    ok(f.media.len == 29
       && memcmp(f.media.data, "audio 9 UDP/TLS/RTP/SAVPF 111", 29) == 0,
       "frag: m= line");
    ok(f.ncandidates == 2 && f.end_of_candidates, "frag: 2 candidates, end");

    ok(ngx_webrtc_sdp_frag_parse(&f, NULL, 0) == NGX_WEBRTC_PARSE_OK
       && f.ufrag.len == 0, "frag: empty is valid, no restart");
    ok(frag_error("a=mid:0\na=candidate:1 1 udp 1 192.0.2.1 9 typ host\n")
       == NULL, "frag: trickle with LF line ends");

    memset(&ans, 0, sizeof(ans));
    ans.ufrag.data = (u_char *) "srvUfrag";
    ans.ufrag.len = 8;
    ans.pwd.data = (u_char *) "serverpasswordserverpass";
    ans.pwd.len = 24;
    ans.candidate_addrs[0].data = (u_char *) "192.0.2.1";
    ans.candidate_addrs[0].len = 9;
    ans.ncandidate_addrs = 1;
    ans.port = 8189;

    n = ngx_webrtc_sdp_frag_answer(buf, sizeof(buf) - 1, &f, &ans);
    buf[n] = '\0';
    ok(n > 0 && strcmp((char *) buf,
       "a=ice-lite\r\na=ice-ufrag:srvUfrag\r\n"
       "a=ice-pwd:serverpasswordserverpass\r\n"
       "a=candidate:1 1 udp 2130706431 192.0.2.1 8189 typ host\r\n"
       "a=end-of-candidates\r\n") == 0,
       "frag answer without the client's m= line");

    ngx_webrtc_sdp_frag_parse(&f, (u_char *) restart, strlen(restart));
    n = ngx_webrtc_sdp_frag_answer(buf, sizeof(buf) - 1, &f, &ans);
    buf[n] = '\0';
    ok(n > 0 && strstr((char *) buf, "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
                       "a=mid:0\r\na=candidate:1 ") != NULL,
       "frag answer names the client's mid");

    ok(ngx_webrtc_sdp_frag_answer(buf, 40, &f, &ans) == 0,
       "frag answer: too small a buffer is 0");

    ngx_webrtc_sdp_frag_parse(&f, (u_char *) restart, strlen(restart));
    ok(ngx_webrtc_sdp_frag_parse(&f, (u_char *) restart, strlen(restart))
       == NGX_WEBRTC_PARSE_OK, "frag: parse is repeatable");

    e = frag_error("a=ice-ufrag:EsAw\r\n");
    ok(e && strcmp(e, "ice-ufrag without ice-pwd") == 0, "frag: %s", e);
    e = frag_error("a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n");
    ok(e && strcmp(e, "ice-pwd without ice-ufrag") == 0, "frag: %s", e);
    e = frag_error("a=ice-ufrag:abc\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n");
    ok(e && strcmp(e, "invalid ice-ufrag") == 0, "frag: short ufrag: %s", e);
    e = frag_error("a=ice-ufrag:ab-cd\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n");
    ok(e && strcmp(e, "invalid ice-ufrag") == 0, "frag: '-' in ufrag: %s", e);
    e = frag_error("a=ice-ufrag:abcd\r\na=ice-pwd:short\r\n");
    ok(e && strcmp(e, "invalid ice-pwd") == 0, "frag: short pwd: %s", e);
    e = frag_error("a=ice-ufrag:abcd\r\na=ice-ufrag:efgh\r\n"
                   "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n");
    ok(e && strcmp(e, "ice-ufrag twice") == 0, "frag: %s", e);
    e = frag_error("hello world\r\n");
    ok(e && strcmp(e, "malformed SDP fragment") == 0, "frag: %s", e);
    e = frag_error("a=candidate:\r\n");
    ok(e && strcmp(e, "empty candidate") == 0, "frag: %s", e);
    e = frag_error("a=mid:0\r\na=candidate:1\r\x01\n");
    ok(e && strcmp(e, "control character") == 0, "frag: %s", e);
}


/* RFC 8853 simulcast: the layers of an offer, and what the answer says */

static void
test_simulcast(void)
{
    char                        *text, *plain;
    size_t                       len, n;
    unsigned                     nl;
    ngx_webrtc_str_t             rids[NGX_WEBRTC_SDP_MAX_LAYERS];
    ngx_webrtc_sdp_selection_t   sel;
    static ngx_webrtc_sdp_t      sdp, re;
    static u_char                buf[16384];
    ngx_webrtc_sdp_answer_t      ans;
    char                         alt[] =
        "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
        "a=rtpmap:96 VP8/90000\r\n"
        "a=rid:2 send\r\na=rid:1 send\r\na=rid:0 send\r\n"
        "a=rid:bad\"id send\r\na=rid:x recv\r\n"
        "a=simulcast:recv x send ~0;1,5;2;9\r\n";

    text = load("chromium-simulcast.sdp", &len);

    ok(ngx_webrtc_sdp_parse(&sdp, (u_char *) text, len) == NGX_WEBRTC_PARSE_OK,
       "simulcast: parses");

    nl = ngx_webrtc_sdp_layers(&sdp.media[1], rids);
    ok(nl == 3 && is(&rids[0], "q") && is(&rids[1], "h") && is(&rids[2], "f"),
       "simulcast: three layers q, h, f");
    ok(ngx_webrtc_sdp_layers(&sdp.media[0], rids) == 0,
       "simulcast: audio has none");
    ok(ngx_webrtc_sdp_extmap_id(&sdp.media[1], NGX_WEBRTC_EXT_RID) == 10
       && ngx_webrtc_sdp_extmap_id(&sdp.media[1], NGX_WEBRTC_EXT_RRID) == 11,
       "simulcast: rid extension ids");

    n = roundtrip("simulcast", &sdp, 0, 1, &sel, buf, sizeof(buf));
    ok(has(buf, n, "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\n"
                   "a=simulcast:recv q;h;f\r\n"),
       "simulcast: answer receives every layer");
    ok(has(buf, n, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")
       && has(buf, n, "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:"
                      "repaired-rtp-stream-id"),
       "simulcast: answer keeps the rid extensions");
    ok(has(buf, n, "x-google-start-bitrate=2500"),
       "simulcast: answer starts the estimate high");

    /* a viewer's answer (sendonly) to the same offer has no simulcast */
    answer_init(&ans, NGX_WEBRTC_DIR_SENDONLY);
    n = ngx_webrtc_sdp_answer(buf, sizeof(buf), &sdp, &sel, &ans);
    ok(n && !has(buf, n, "a=simulcast") && !has(buf, n, "rtp-stream-id")
       && !has(buf, n, "x-google"),
       "simulcast: no simulcast in a sendonly answer");

    /* the plain offer's answer is as before */
    plain = load("chromium.sdp", &len);
    ok(ngx_webrtc_sdp_parse(&re, (u_char *) plain, len) == NGX_WEBRTC_PARSE_OK
       && ngx_webrtc_sdp_layers(&re.media[1], rids) == 0,
       "simulcast: chromium.sdp has no layers");
    n = roundtrip("plain", &re, 0, 1, &sel, buf, sizeof(buf));
    ok(n && !has(buf, n, "a=rid") && !has(buf, n, "rtp-stream-id")
       && !has(buf, n, "x-google"), "plain: no simulcast in the answer");

    /* order of a=simulcast, alternatives, paused, bad and recv rids */
    ok(ngx_webrtc_sdp_parse(&re, (u_char *) alt, sizeof(alt) - 1)
       == NGX_WEBRTC_PARSE_OK, "simulcast alt: parses");
    ok(re.media[0].nrids == 3, "simulcast alt: bad and recv rids skipped");
    nl = ngx_webrtc_sdp_layers(&re.media[0], rids);
    ok(nl == 3 && is(&rids[0], "0") && is(&rids[1], "1") && is(&rids[2], "2"),
       "simulcast alt: a=simulcast order, ~ and alternatives");
    ok(ngx_webrtc_sdp_extmap_id(&re.media[0], NGX_WEBRTC_EXT_RID) == 0,
       "simulcast alt: no rid extension");

    free(plain);
    free(text);
}


int
main(void)
{
    test_simulcast();
    test_obs();
    test_libdatachannel();
    test_chromium();
    test_chromium_more();
    test_aiortc();
    test_gstreamer();
    test_errors();
    test_frag();

    printf("1..%u\n", ntests);

    if (nfailed) {
        printf("# %u of %u failed\n", nfailed, ntests);
        return 1;
    }

    return 0;
}
