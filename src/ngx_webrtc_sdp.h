
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_SDP_H_INCLUDED_
#define _NGX_WEBRTC_SDP_H_INCLUDED_


#include "ngx_webrtc_codec.h"


#define NGX_WEBRTC_SDP_MAX_MEDIA        8
#define NGX_WEBRTC_SDP_MAX_CODECS      64
#define NGX_WEBRTC_SDP_MAX_EXTMAP      16
#define NGX_WEBRTC_SDP_MAX_FMTS        64
#define NGX_WEBRTC_SDP_MAX_BUNDLE       8
#define NGX_WEBRTC_SDP_MAX_CANDIDATES   8
#define NGX_WEBRTC_SDP_MAX_RIDS         4
#define NGX_WEBRTC_SDP_MAX_LAYERS       3    /* simulcast layers taken */


typedef enum {
    NGX_WEBRTC_MEDIA_OTHER = 0,
    NGX_WEBRTC_MEDIA_AUDIO,
    NGX_WEBRTC_MEDIA_VIDEO,
    NGX_WEBRTC_MEDIA_APPLICATION
} ngx_webrtc_media_type_e;


typedef enum {
    NGX_WEBRTC_DIR_SENDRECV = 0,     /* default when no attribute is given */
    NGX_WEBRTC_DIR_SENDONLY,
    NGX_WEBRTC_DIR_RECVONLY,
    NGX_WEBRTC_DIR_INACTIVE
} ngx_webrtc_direction_e;


typedef enum {
    NGX_WEBRTC_SETUP_NONE = 0,
    NGX_WEBRTC_SETUP_ACTPASS,
    NGX_WEBRTC_SETUP_ACTIVE,
    NGX_WEBRTC_SETUP_PASSIVE,
    NGX_WEBRTC_SETUP_HOLDCONN
} ngx_webrtc_setup_e;


typedef struct {
    unsigned                    pt;           /* payload type, 0..127 */
    ngx_webrtc_codec_e          codec;
    ngx_webrtc_str_t            name;         /* encoding name as offered */
    unsigned                    clock_rate;
    unsigned                    channels;     /* 0 if not given */
    ngx_webrtc_str_t            fmtp;         /* parameters after "a=fmtp:PT " */
    unsigned                    apt;          /* rtx: associated pt, else 0 */
    unsigned                    has_apt:1;
    unsigned                    fb_nack:1;
    unsigned                    fb_pli:1;     /* "nack pli" */
    unsigned                    fb_fir:1;     /* "ccm fir" */
    unsigned                    fb_remb:1;
    unsigned                    fb_twcc:1;    /* "transport-cc" */
} ngx_webrtc_sdp_codec_t;


typedef struct {
    unsigned                    id;
    ngx_webrtc_str_t            uri;
} ngx_webrtc_sdp_extmap_t;


typedef struct {
    ngx_webrtc_str_t            ufrag;
    ngx_webrtc_str_t            pwd;
    ngx_webrtc_str_t            fp_alg;       /* "sha-256" */
    ngx_webrtc_str_t            fp;           /* "AB:CD:..." */
    ngx_webrtc_setup_e          setup;
} ngx_webrtc_sdp_transport_t;


typedef struct {
    ngx_webrtc_media_type_e     type;
    ngx_webrtc_str_t            media;        /* "audio", "video", ... */
    unsigned                    port;
    ngx_webrtc_str_t            proto;        /* "UDP/TLS/RTP/SAVPF", ... */

    /* payload types in m-line order */
    unsigned                    fmts[NGX_WEBRTC_SDP_MAX_FMTS];
    unsigned                    nfmts;

    ngx_webrtc_str_t            mid;
    ngx_webrtc_direction_e      direction;

    /* ice-ufrag, ice-pwd, fingerprint, setup given in this m-section */
    ngx_webrtc_sdp_transport_t  transport;

    ngx_webrtc_sdp_codec_t      codecs[NGX_WEBRTC_SDP_MAX_CODECS];
    unsigned                    ncodecs;

    ngx_webrtc_sdp_extmap_t     extmaps[NGX_WEBRTC_SDP_MAX_EXTMAP];
    unsigned                    nextmaps;

    /* raw "a=candidate:" values (after the colon), the first ones */
    ngx_webrtc_str_t            candidates[NGX_WEBRTC_SDP_MAX_CANDIDATES];
    unsigned                    ncandidates;

    /* first a=ssrc id, and a=ssrc-group:FID second id if any */
    uint32_t                    ssrc;
    uint32_t                    rtx_ssrc;
    ngx_webrtc_str_t            msid;         /* a=msid value, whole */

    /* a=rid:X send lines (simulcast) */
    ngx_webrtc_str_t            rids[NGX_WEBRTC_SDP_MAX_RIDS];
    unsigned                    nrids;

    /* a=simulcast:send, in its order */
    ngx_webrtc_str_t            send_rids[NGX_WEBRTC_SDP_MAX_RIDS];
    unsigned                    nsend_rids;

    /* data channels */
    unsigned                    sctp_port;          /* a=sctp-port or sctpmap */
    unsigned                    max_message_size;   /* 0 if absent */

    unsigned                    rtcp_mux:1;
    unsigned                    rtcp_mux_only:1;
    unsigned                    rtcp_rsize:1;
    unsigned                    bundle_only:1;
    unsigned                    end_of_candidates:1;
    unsigned                    legacy_sctp:1;      /* DTLS/SCTP + sctpmap */
    unsigned                    simulcast:1;
} ngx_webrtc_sdp_media_t;


typedef struct {
    ngx_webrtc_str_t            origin_sess_id;   /* o= session id */

    /* session-level transport attributes (OBS puts them here) */
    ngx_webrtc_sdp_transport_t  transport;

    /* the first a=group:BUNDLE; mids in order */
    ngx_webrtc_str_t            bundle[NGX_WEBRTC_SDP_MAX_BUNDLE];
    unsigned                    nbundle;

    ngx_webrtc_sdp_media_t      media[NGX_WEBRTC_SDP_MAX_MEDIA];
    unsigned                    nmedia;

    ngx_webrtc_direction_e      direction;        /* session level */

    unsigned                    ice_lite:1;
    unsigned                    ice_trickle:1;    /* ice-options has trickle */

    /* a short reason when parsing failed */
    const char                 *error;
} ngx_webrtc_sdp_t;


/*
 * Parses an SDP offer.  Strings point into the input buffer, which must
 * outlive the result.  Accepts "\r\n" and "\n" line ends.  Returns
 * NGX_WEBRTC_PARSE_ERROR with sdp->error set for input that is not SDP
 * (no "v=0", unknown line shapes, numbers out of range, too many
 * m-sections ...); attributes that are merely unknown are skipped.
 */
int ngx_webrtc_sdp_parse(ngx_webrtc_sdp_t *sdp, u_char *p, size_t len);


/*
 * Parser helpers that ngx_webrtc_sdp_answer.c shares: the direction
 * attribute names by ngx_webrtc_direction_e, whether s is exactly lit or
 * contains it, and the value of key in an fmtp "k=v;k=v" list (keys
 * case-insensitive; 0 if absent).
 */
extern const char  *ngx_webrtc_sdp_directions[];

int ngx_webrtc_sdp_eq(ngx_webrtc_str_t *s, const char *lit);
int ngx_webrtc_sdp_contains(ngx_webrtc_str_t *s, const char *lit);
int ngx_webrtc_sdp_fmtp_param(ngx_webrtc_str_t *fmtp, const char *key,
    ngx_webrtc_str_t *val);


/* RFC 8852 header extensions: the layer of a packet, of a retransmission */
#define NGX_WEBRTC_EXT_RID   "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define NGX_WEBRTC_EXT_RRID                                                   \
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"


/*
 * Simulcast (RFC 8853): the rids of a video m-section's layers in the
 * order the offer lists them (the first NGX_WEBRTC_SDP_MAX_LAYERS), or 0 for
 * plain video; and the id of an offered header extension, 0 if absent.
 */
unsigned ngx_webrtc_sdp_layers(ngx_webrtc_sdp_media_t *m,
    ngx_webrtc_str_t *rids);
unsigned ngx_webrtc_sdp_extmap_id(ngx_webrtc_sdp_media_t *m,
    const char *uri);


/*
 * Effective transport attributes of m-section i: the m-section's own value
 * where present, else the session level one.
 */
void ngx_webrtc_sdp_transport(ngx_webrtc_sdp_t *sdp, unsigned i,
    ngx_webrtc_sdp_transport_t *t);


/* what the answerer wants; codec preference lists in priority order */
typedef struct {
    ngx_webrtc_codec_e          video_codecs[NGX_WEBRTC_CODEC_LAST];
    unsigned                    nvideo_codecs;
    ngx_webrtc_codec_e          audio_codecs[NGX_WEBRTC_CODEC_LAST];
    unsigned                    naudio_codecs;
    unsigned                    ingest:1;     /* WHIP: offer must send */
} ngx_webrtc_sdp_prefs_t;


/* what was selected for one m-section */
typedef struct {
    unsigned                    accepted:1;
    int                         codec;        /* index in media.codecs */
    int                         rtx;          /* index of its rtx, or -1 */
} ngx_webrtc_sdp_choice_t;


typedef struct {
    ngx_webrtc_sdp_choice_t     media[NGX_WEBRTC_SDP_MAX_MEDIA];
    int                         audio;        /* m-section index or -1 */
    int                         video;        /* m-section index or -1 */
    int                         application;  /* m-section index or -1 */

    /* effective transport of the first bundled m-section */
    ngx_webrtc_sdp_transport_t  transport;

    /* a short reason when the offer cannot be accepted whole (422) */
    const char                 *error;
} ngx_webrtc_sdp_selection_t;


/*
 * Decides whether the offer can be accepted whole and picks one codec per
 * m-section.  Rules: at most one audio and one video m-section, plus at
 * most one application (data channel) m-section; every m-section bundled
 * in one group (or a single m-section); rtcp-mux; ICE credentials and a
 * fingerprint (sha-224/256/384/512; SHA-1 is refused) present; setup
 * actpass or active; for ingest the direction sendonly or sendrecv.  H264
 * is never refused for its profile-level-id.
 */
int ngx_webrtc_sdp_select(ngx_webrtc_sdp_t *sdp, ngx_webrtc_sdp_prefs_t *prefs,
    ngx_webrtc_sdp_selection_t *sel);


typedef struct {
    ngx_webrtc_str_t            ufrag;
    ngx_webrtc_str_t            pwd;
    ngx_webrtc_str_t            fingerprint;  /* "sha-256 AB:CD:..." */
    ngx_webrtc_str_t            candidate_addrs[NGX_WEBRTC_SDP_MAX_CANDIDATES];
    unsigned                    ncandidate_addrs;
    unsigned                    port;
    unsigned                    tcp_port;     /* 0: no ICE-TCP candidate */
    uint64_t                    session_version;  /* o= line */
    ngx_webrtc_direction_e      direction;    /* recvonly for WHIP */
    uint32_t                    ssrc_audio;   /* ours, for RTCP; 0: none */
    uint32_t                    ssrc_video;
    uint64_t                    max_message;  /* a=max-message-size */
} ngx_webrtc_sdp_answer_t;


/*
 * Writes the answer for a selected offer: ice-lite, setup:passive,
 * rtcp-mux, one codec (+ its rtx) per m-section with its fmtp and
 * rtcp-fb (nack, pli, fir), the sdes:mid extmap if offered, host candidates
 * for every address at the given port, end-of-candidates.  Returns the
 * length written, or 0 if buf is too small.
 */
size_t ngx_webrtc_sdp_answer(u_char *buf, size_t size, ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_sdp_selection_t *sel, ngx_webrtc_sdp_answer_t *ans);


/*
 * A trickle-ice-sdpfrag (RFC 8840) from a PATCH: candidates, and for an
 * ICE restart (RFC 8839 4.4.1.1.1, RFC 9725 4.4.2) the new ice-ufrag and
 * ice-pwd.  Strings point into the input.
 */
typedef struct {
    ngx_webrtc_str_t            ufrag;        /* len 0: no restart */
    ngx_webrtc_str_t            pwd;
    ngx_webrtc_str_t            media;        /* the first m= line's value */
    ngx_webrtc_str_t            mid;          /* the first a=mid */
    ngx_webrtc_str_t            candidates[NGX_WEBRTC_SDP_MAX_CANDIDATES];
    unsigned                    ncandidates;  /* the first ones */
    unsigned                    end_of_candidates:1;

    /* a short reason when parsing failed */
    const char                 *error;
} ngx_webrtc_sdp_frag_t;


/*
 * Parses a fragment: every line "<letter>=<value>", text only; ice-ufrag
 * (4-256 ice-chars) and ice-pwd (22-256) both or neither, each at most
 * once.  An empty fragment is valid.  NGX_WEBRTC_PARSE_ERROR with
 * f->error set otherwise.
 */
int ngx_webrtc_sdp_frag_parse(ngx_webrtc_sdp_frag_t *f, u_char *p,
    size_t len);


/*
 * Writes the server's fragment for an ICE restart: ice-lite, the new
 * ice-ufrag and ice-pwd, the m= line and mid of the client's fragment if
 * it had them, the same host candidates as the answer, end-of-candidates.
 * Returns the length written, or 0 if buf is too small.
 */
size_t ngx_webrtc_sdp_frag_answer(u_char *buf, size_t size,
    ngx_webrtc_sdp_frag_t *frag, ngx_webrtc_sdp_answer_t *ans);


/* the client side (ngx_webrtc_sdp_offer.c): an edge's offer to a peer */
typedef struct {
    ngx_webrtc_str_t            ufrag;
    ngx_webrtc_str_t            pwd;
    ngx_webrtc_str_t            fingerprint;  /* "sha-256 AB:CD:..." */
    ngx_webrtc_str_t            candidate_addrs[NGX_WEBRTC_SDP_MAX_CANDIDATES];
    unsigned                    ncandidate_addrs;
    unsigned                    port;
    uint64_t                    session_id;
    ngx_webrtc_direction_e      direction;    /* recvonly: pull */
    unsigned                    audio:1;      /* an audio m-section */
    unsigned                    video:1;
    unsigned                    application:1;  /* data channels */
    uint64_t                    max_message;  /* a=max-message-size */
    /* push: the one video codec sent, 0 (pull): every codec known */
    ngx_webrtc_codec_e          video_codec;
    unsigned                    video_pt;
    ngx_webrtc_str_t            video_fmtp;
    uint32_t                    ssrc_audio;   /* push: ours */
    uint32_t                    ssrc_video;
} ngx_webrtc_sdp_offer_t;


/*
 * Writes an offer: BUNDLE, rtcp-mux, setup:actpass, Opus and the video
 * codecs, host candidates at the given port.  Returns the length
 * written, or 0 if buf is too small.
 */
size_t ngx_webrtc_sdp_offer(u_char *buf, size_t size,
    ngx_webrtc_sdp_offer_t *o);


/* what an offerer needs of the answer */
typedef struct {
    int                         audio;        /* m-section index or -1 */
    int                         video;
    ngx_webrtc_sdp_codec_t     *codec[2];     /* audio, video */
    int                         application;  /* m-section index or -1 */
    ngx_webrtc_sdp_transport_t  transport;
    ngx_webrtc_str_t            cand_addr;    /* the first UDP candidate */
    unsigned                    cand_port;
    const char                 *error;
} ngx_webrtc_sdp_remote_t;


/*
 * Reads a parsed answer: NGX_WEBRTC_PARSE_ERROR with r->error if it has
 * no media, no credentials or fingerprint, no UDP candidate, or is not
 * setup:passive.
 */
int ngx_webrtc_sdp_answer_read(ngx_webrtc_sdp_t *sdp,
    ngx_webrtc_sdp_remote_t *r);


#endif /* _NGX_WEBRTC_SDP_H_INCLUDED_ */
