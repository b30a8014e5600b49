/* store/room_code.h: shareable room codes of the form abcd-efgh-ijkl. */
#ifndef SFU_STORE_ROOM_CODE_H
#define SFU_STORE_ROOM_CODE_H

#include <stdbool.h>

#define ROOM_CODE_LEN 15 /* 14 characters plus NUL */

/* Three groups of four random lower-case letters joined by '-'. Returns 0 or -EIO. */
int room_code_generate(char out[ROOM_CODE_LEN]);
bool room_code_is_valid(const char *s);

#endif
