
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"


/*
 * What an operator logs: variables of WHIP, WHEP and event stream
 * requests for log_format ($webrtc_session, $webrtc_stream,
 * $webrtc_role), and the session log's directive (webrtc_session_log),
 * whose lines the sessions write when they end.
 */


static ngx_int_t ngx_http_webrtc_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_webrtc_target_t *ngx_http_webrtc_variable_target(
    ngx_http_request_t *r);


#define NGX_HTTP_WEBRTC_VAR_SESSION  0
#define NGX_HTTP_WEBRTC_VAR_STREAM   1
#define NGX_HTTP_WEBRTC_VAR_ROLE     2


static ngx_http_variable_t  ngx_http_webrtc_variables[] = {

    { ngx_string("webrtc_session"), NULL, ngx_http_webrtc_variable,
      NGX_HTTP_WEBRTC_VAR_SESSION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webrtc_stream"), NULL, ngx_http_webrtc_variable,
      NGX_HTTP_WEBRTC_VAR_STREAM, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webrtc_role"), NULL, ngx_http_webrtc_variable,
      NGX_HTTP_WEBRTC_VAR_ROLE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_webrtc_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_webrtc_variables; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webrtc_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                      *id;
    ngx_http_webrtc_target_t    *t;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    t = ngx_http_webrtc_variable_target(r);

    if (t == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    switch (data) {

    case NGX_HTTP_WEBRTC_VAR_SESSION:
        /* the session resource asked for, or the one a POST made */
        id = t->id ? t->id : t->created;

        if (id == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->data = id;
        v->len = NGX_WEBRTC_ID_LEN;
        break;

    case NGX_HTTP_WEBRTC_VAR_STREAM:
        v->data = t->stream.data;
        v->len = t->stream.len;
        break;

    default: /* NGX_HTTP_WEBRTC_VAR_ROLE */
        wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

        switch (wlcf->handler) {

        case NGX_HTTP_WEBRTC_WHIP:
            ngx_str_set(v, "publisher");
            break;

        case NGX_HTTP_WEBRTC_WHEP:
            ngx_str_set(v, "viewer");
            break;

        default: /* NGX_HTTP_WEBRTC_EVENTS */
            ngx_str_set(v, "events");
        }
    }

    return NGX_OK;
}


/* the request's target, where the location is a WHIP, WHEP or events one */

static ngx_http_webrtc_target_t *
ngx_http_webrtc_variable_target(ngx_http_request_t *r)
{
    ngx_http_webrtc_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    if (wlcf == NULL
        || (wlcf->handler != NGX_HTTP_WEBRTC_WHIP
            && wlcf->handler != NGX_HTTP_WEBRTC_WHEP
            && wlcf->handler != NGX_HTTP_WEBRTC_EVENTS))
    {
        /* other locations keep other things in the module's context */
        return NULL;
    }

    return ngx_http_get_module_ctx(r, ngx_http_webrtc_module);
}


/* webrtc_session_log path | off */

char *
ngx_http_webrtc_session_log_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_webrtc_conf_t *wmcf = conf;

    ngx_str_t  *value;

    if (wmcf->session_log != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        wmcf->session_log = NULL;
        return NGX_CONF_OK;
    }

    wmcf->session_log = ngx_conf_open_file(cf->cycle, &value[1]);
    if (wmcf->session_log == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
