/* ice/tcp_framing.c: RFC 4571 length-prefixed packets on a byte stream. */
#include "ice/tcp_framing.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"

void ice_tcp_framer_init(ice_tcp_framer_t *f)
{
    f->have = 0;
}

int ice_tcp_framer_feed(ice_tcp_framer_t *f, const uint8_t *data, size_t len,
                        ice_tcp_frame_fn on_frame, void *ctx)
{
    while (len > 0) {
        /* The length field first, a byte at a time if it comes split. */
        if (f->have < 2) {
            f->buf[f->have++] = *data++;
            len--;
            if (f->have < 2)
                continue;
            size_t frame = rd_be16(f->buf);
            if (frame > ICE_TCP_MAX_FRAME)
                return -EMSGSIZE;
            if (frame == 0) {
                f->have = 0;
                continue;
            }
        }
        size_t frame = rd_be16(f->buf);
        size_t want = 2 + frame - f->have;
        size_t take = len < want ? len : want;
        /* Always into our buffer: the caller decrypts in place, and a frame
         * may span reads. */
        memcpy(f->buf + f->have, data, take);
        f->have += take;
        data += take;
        len -= take;
        if (f->have == 2 + frame) {
            f->have = 0;
            int rc = on_frame(ctx, f->buf + 2, frame);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int ice_tcp_frame_header(uint8_t hdr[2], size_t len)
{
    if (len > UINT16_MAX)
        return -EMSGSIZE;
    wr_be16(hdr, (uint16_t)len);
    return 0;
}
