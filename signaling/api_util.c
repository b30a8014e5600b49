/* signaling/api_util.c: small helpers shared by the REST handlers. */
#include <errno.h>

#include "common/util.h"
#include "signaling/api.h"

json_t *api_time_json(int64_t unix_ms)
{
    if (unix_ms <= 0)
        return json_null();
    char buf[40];
    iso8601_from_ms(unix_ms, buf, sizeof buf);
    return json_string(buf);
}

bool api_field_string(http_req_t *req, json_t *obj, const char *name, bool required,
                      const char **out)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required)
            return true;
        http_reply_error(req, 400, "invalid_field", name, "%s is required", name);
        return false;
    }
    if (!json_is_string(v)) {
        http_reply_error(req, 400, "invalid_field", name, "%s must be a string", name);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

void api_reply_store_error(http_req_t *req, int rc)
{
    if (rc == -ENOENT)
        http_reply_error(req, 404, "not_found", NULL, "not found");
    else
        http_reply_error(req, 500, "internal", NULL, "the store failed; try again");
}
