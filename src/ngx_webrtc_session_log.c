
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_session_log.h"


/*
 * The session log (webrtc_session_log): one line per ended session, for
 * billing and debugging what an access log cannot show (the HTTP request
 * that made a session ends long before the session does):
 *
 *   [06/Dec/2026:05:30:00 +0000] publisher cam1 5c57...98d3
 *       127.0.0.1:46731 12.345 1805900 2300 "deleted" "OBS-Studio/30.2"
 *
 * time of the end, role, stream, session id, the peer's address, seconds
 * since the POST, media bytes and packets (received from a publisher,
 * sent to a viewer), the reason it ended, the POST's User-Agent.  The
 * file is nginx's (opened by the master, reopened on USR1); a write is
 * one write() of the line, as nginx's access log does without buffer=.
 */


/* a reason is a short literal; what is quoted may grow 4 times */
#define NGX_WEBRTC_SESSION_LOG_MAX                                            \
    (sizeof("[28/Sep/1970:12:00:00 +0600] publisher     \"\" \"\"\n")      \
     + NGX_WEBRTC_STREAM_MAX + NGX_WEBRTC_ID_LEN + NGX_SOCKADDR_STRLEN        \
     + 4 * NGX_INT64_LEN + 4 * NGX_WEBRTC_REASON_LEN                          \
     + 4 * NGX_WEBRTC_UA_MAX)


static u_char *ngx_webrtc_session_log_quoted(u_char *p, u_char *text,
    size_t len);


void
ngx_webrtc_session_log(ngx_webrtc_shm_session_t *ss, ngx_msec_t age,
    const char *reason)
{
    u_char           *p;
    uint64_t          bytes, packets;
    ngx_uint_t        i;
    ngx_open_file_t  *file;
    u_char            line[NGX_WEBRTC_SESSION_LOG_MAX];

    file = ngx_webrtc_worker->conf->session_log;

    if (file == NULL) {
        return;
    }

    bytes = 0;
    packets = 0;

    for (i = 0; i < ss->ntracks && i < NGX_WEBRTC_MAX_TRACKS; i++) {
        bytes += ss->tracks[i].bytes;
        packets += ss->tracks[i].packets;
    }

    p = ngx_sprintf(line, "[%V] %s %*s %*s ", &ngx_cached_http_log_time,
                    ss->role == NGX_WEBRTC_ROLE_PUBLISHER ? "publisher"
                                                          : "viewer",
                    ss->stream_len, ss->stream,
                    (size_t) NGX_WEBRTC_ID_LEN, ss->id);

    if (ss->remote_len) {
        p = ngx_cpymem(p, ss->remote, ss->remote_len);

    } else {
        *p++ = '-';
    }

    p = ngx_sprintf(p, " %M.%03M %uL %uL ", age / 1000, age % 1000, bytes,
                    packets);

    p = ngx_webrtc_session_log_quoted(p, (u_char *) reason,
                                      ngx_strlen(reason));
    *p++ = ' ';
    p = ngx_webrtc_session_log_quoted(p, ss->user_agent, ss->user_agent_len);
    *p++ = LF;

    /* a short or failed write loses a line, as nginx's access log does */
    (void) ngx_write_fd(file->fd, line, p - line);
}


/* "text", with what is not printable ASCII, '"' and '\' as \xHH */

static u_char *
ngx_webrtc_session_log_quoted(u_char *p, u_char *text, size_t len)
{
    u_char  *end;

    *p++ = '"';

    for (end = text + len; text < end; text++) {
        if (*text < 0x20 || *text > 0x7e || *text == '"' || *text == '\\') {
            p = ngx_sprintf(p, "\\x%02xd", *text);
            continue;
        }

        *p++ = *text;
    }

    *p++ = '"';

    return p;
}
