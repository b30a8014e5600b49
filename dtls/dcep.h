/* dtls/dcep.h: the Data Channel Establishment Protocol (RFC 8832): the
 * DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK messages carried on a stream with
 * PPID 50, and the PPIDs of data channel messages (RFC 8831 8). Pure
 * functions over bytes: no I/O, no allocation. */
#ifndef SFU_DTLS_DCEP_H
#define SFU_DTLS_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SCTP payload protocol identifiers (RFC 8831 8, RFC 8832 8.1). */
#define DCEP_PPID_CONTROL      50
#define DCEP_PPID_STRING       51
#define DCEP_PPID_BINARY       53
#define DCEP_PPID_STRING_EMPTY 56
#define DCEP_PPID_BINARY_EMPTY 57

#define DCEP_MSG_ACK  0x02
#define DCEP_MSG_OPEN 0x03

/* Channel types (RFC 8832 5.1); 0x80 set: unordered. */
#define DCEP_CHANNEL_RELIABLE                0x00
#define DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT 0x01
#define DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED  0x02
#define DCEP_CHANNEL_UNORDERED               0x80

#define DCEP_LABEL_MAX 255 /* we keep labels and protocols up to this long */

typedef struct dcep_open {
    uint8_t channel_type;
    uint16_t priority;
    uint32_t reliability; /* retransmissions or lifetime in ms, by channel_type */
    char label[DCEP_LABEL_MAX + 1];
    char protocol[DCEP_LABEL_MAX + 1];
} dcep_open_t;

/* Parses a DATA_CHANNEL_OPEN. 0, or -EINVAL (not an OPEN, truncated, an
 * unknown channel type, lengths past the message), -E2BIG (a label or
 * protocol longer than DCEP_LABEL_MAX). */
int dcep_parse_open(const uint8_t *data, size_t len, dcep_open_t *out);
/* Writes a DATA_CHANNEL_OPEN. Its length, or -ENOSPC / -EINVAL. */
int dcep_write_open(const dcep_open_t *open, uint8_t *out, size_t cap);
/* A DATA_CHANNEL_ACK is one byte. */
bool dcep_is_ack(const uint8_t *data, size_t len);
/* The message type of a control message, or -1 when empty. */
int dcep_message_type(const uint8_t *data, size_t len);
bool dcep_ordered(uint8_t channel_type);

#endif
