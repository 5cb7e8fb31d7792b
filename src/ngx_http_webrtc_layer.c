
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"
#include "ngx_webrtc_layer.h"
#include "ngx_webrtc_udp.h"


/*
 * The WHEP layer extension (draft-ietf-wish-whep): POST to
 * <endpoint>/<stream>/<id>/layer with {"mediaId":..,"encodingId":..}
 * pins the viewer's video to a simulcast layer, an empty body or {}
 * unpins it.  Only the WHEP location that created the session reaches
 * it.  The viewer lives in one worker and the request may land in any:
 * the choice is written into the session's record in shared memory and
 * its worker is told with a control datagram, as DELETE does.
 */


#define NGX_HTTP_WEBRTC_LAYER_BODY_MAX  1024


static void ngx_http_webrtc_layer_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_webrtc_layer_known(ngx_str_t *stream,
    ngx_webrtc_str_t *rid);


ngx_int_t
ngx_http_webrtc_layer(ngx_http_request_t *r, ngx_http_webrtc_target_t *t)
{
    ngx_int_t                    rc;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    if (wlcf->handler != NGX_HTTP_WEBRTC_WHEP) {
        ngx_http_discard_request_body(r);
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                     "no such resource");
    }

    if (r->method != NGX_HTTP_POST) {
        ngx_http_discard_request_body(r);
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_ALLOWED,
                                     "layer resource supports POST");
    }

    if (r->headers_in.content_length_n > NGX_HTTP_WEBRTC_LAYER_BODY_MAX) {
        ngx_http_discard_request_body(r);
        return ngx_http_webrtc_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "layer request too large");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_webrtc_layer_body);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_webrtc_layer_body(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    body, mid, rid;
    ngx_pid_t                    pid;
    in_port_t                    port;
    ngx_webrtc_layer_req_t       req;
    ngx_http_webrtc_target_t    *t;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    t = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);
    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    rc = ngx_http_webrtc_read_body(r, &body);

    if (rc == NGX_ERROR) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (rc == NGX_DECLINED) {
        body.len = 0;
        body.data = (u_char *) "";
    }

    if (body.len > NGX_HTTP_WEBRTC_LAYER_BODY_MAX) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "layer request too large");
        goto done;
    }

    /* a session of another location is not there: 404 before all else */

    if (ngx_webrtc_registry_lookup(&t->stream, t->id, wlcf->owner, &pid,
                                   &port)
        != NGX_OK)
    {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND, "no such session");
        goto done;
    }

    if (ngx_webrtc_layer_parse(&req, body.data, body.len)
        != NGX_WEBRTC_PARSE_OK)
    {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST, req.error);
        goto done;
    }

    if (req.svc) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                   "spatial and temporal layers are not "
                                   "supported");
        goto done;
    }

    if (req.encoding_id.len == 0 && req.media_id.len) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                   "encodingId required with mediaId");
        goto done;
    }

    if (req.encoding_id.len
        && !ngx_http_webrtc_layer_known(&t->stream, &req.encoding_id))
    {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                   "unknown encodingId");
        goto done;
    }

    mid.len = req.media_id.len;
    mid.data = req.media_id.data;
    rid.len = req.encoding_id.len;
    rid.data = req.encoding_id.data;

    rc = ngx_webrtc_registry_pin(&t->stream, t->id, wlcf->owner, &mid, &rid,
                                 &pid, &port);

    if (rc == NGX_DECLINED) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND, "no such session");
        goto done;
    }

    if (rc == NGX_BUSY) {
        rc = ngx_http_webrtc_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                   "unknown mediaId");
        goto done;
    }

    (void) ngx_webrtc_udp_ctl_send(ngx_webrtc_worker->udp, port,
                                   NGX_WEBRTC_CTL_LAYER, t->id);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

done:

    ngx_http_finalize_request(r, rc);
}


/* whether the stream has a simulcast layer of that rid now */

static ngx_int_t
ngx_http_webrtc_layer_known(ngx_str_t *stream, ngx_webrtc_str_t *rid)
{
    ngx_uint_t            k;
    ngx_webrtc_stream_t  *st;

    if (rid->len > NGX_WEBRTC_RID_MAX) {
        return 0;
    }

    st = ngx_webrtc_stream_acquire(stream, 0);
    if (st == NULL) {
        return 0;
    }

    k = ngx_webrtc_stream_layer(st, rid->data, rid->len);

    ngx_webrtc_stream_release(st);

    return k != 0;
}
