/* dtls/dcep.c: DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK (RFC 8832 5). */
#include "dtls/dcep.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"

#define DCEP_OPEN_HEADER 12 /* type, channel type, priority, reliability, two lengths */

static bool channel_type_known(uint8_t t)
{
    switch (t & ~DCEP_CHANNEL_UNORDERED) {
    case DCEP_CHANNEL_RELIABLE:
    case DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT:
    case DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED:
        return true;
    default:
        return false;
    }
}

int dcep_parse_open(const uint8_t *data, size_t len, dcep_open_t *out)
{
    if (!data || len < DCEP_OPEN_HEADER || data[0] != DCEP_MSG_OPEN)
        return -EINVAL;
    size_t label_len = rd_be16(data + 8), protocol_len = rd_be16(data + 10);
    /* RFC 8832 5.1: the label and protocol follow, exactly filling the message. */
    if (DCEP_OPEN_HEADER + label_len + protocol_len != len || !channel_type_known(data[1]))
        return -EINVAL;
    if (label_len > DCEP_LABEL_MAX || protocol_len > DCEP_LABEL_MAX)
        return -E2BIG;
    memset(out, 0, sizeof *out);
    out->channel_type = data[1];
    out->priority = rd_be16(data + 2);
    out->reliability = rd_be32(data + 4);
    memcpy(out->label, data + DCEP_OPEN_HEADER, label_len);
    memcpy(out->protocol, data + DCEP_OPEN_HEADER + label_len, protocol_len);
    /* A NUL inside would make the name mean something shorter. */
    if (strlen(out->label) != label_len || strlen(out->protocol) != protocol_len)
        return -EINVAL;
    return 0;
}

int dcep_write_open(const dcep_open_t *open, uint8_t *out, size_t cap)
{
    size_t label_len = strlen(open->label), protocol_len = strlen(open->protocol);
    if (label_len > DCEP_LABEL_MAX || protocol_len > DCEP_LABEL_MAX ||
        !channel_type_known(open->channel_type))
        return -EINVAL;
    size_t len = DCEP_OPEN_HEADER + label_len + protocol_len;
    if (len > cap)
        return -ENOSPC;
    out[0] = DCEP_MSG_OPEN;
    out[1] = open->channel_type;
    wr_be16(out + 2, open->priority);
    wr_be32(out + 4, open->reliability);
    wr_be16(out + 8, (uint16_t)label_len);
    wr_be16(out + 10, (uint16_t)protocol_len);
    memcpy(out + DCEP_OPEN_HEADER, open->label, label_len);
    memcpy(out + DCEP_OPEN_HEADER + label_len, open->protocol, protocol_len);
    return (int)len;
}

bool dcep_is_ack(const uint8_t *data, size_t len)
{
    return data && len == 1 && data[0] == DCEP_MSG_ACK;
}

int dcep_message_type(const uint8_t *data, size_t len)
{
    return data && len ? data[0] : -1;
}

bool dcep_ordered(uint8_t channel_type)
{
    return !(channel_type & DCEP_CHANNEL_UNORDERED);
}
