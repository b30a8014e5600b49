/* store/room_code.c: shareable room codes, abcd-efgh-ijkl, 12 unbiased random letters. */
#include "store/room_code.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/crypto.h>

#include "common/util.h"

#define ROOM_CODE_LETTERS 12
/* 234 = 9 * 26: a byte below it maps onto the 26 letters uniformly; others are redrawn. */
#define ROOM_CODE_BYTE_LIMIT 234

int room_code_generate(char out[ROOM_CODE_LEN])
{
    char letters[ROOM_CODE_LETTERS];
    uint8_t pool[32];
    size_t have = 0;
    if (!out)
        return -EINVAL;
    /* Each draw is kept with probability 234/256; 64 batches failing is impossible in practice. */
    for (int batch = 0; batch < 64 && have < ROOM_CODE_LETTERS; batch++) {
        if (random_bytes(pool, sizeof pool))
            break;
        for (size_t i = 0; i < sizeof pool && have < ROOM_CODE_LETTERS; i++)
            if (pool[i] < ROOM_CODE_BYTE_LIMIT)
                letters[have++] = (char)('a' + pool[i] % 26);
    }
    OPENSSL_cleanse(pool, sizeof pool);
    if (have < ROOM_CODE_LETTERS)
        return -EIO;
    size_t o = 0;
    for (size_t i = 0; i < ROOM_CODE_LETTERS; i++) {
        if (i && i % 4 == 0)
            out[o++] = '-';
        out[o++] = letters[i];
    }
    out[o] = '\0';
    return 0;
}

bool room_code_is_valid(const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < ROOM_CODE_LEN - 1; i++) {
        bool dash_here = i % 5 == 4;
        if (dash_here ? s[i] != '-' : (s[i] < 'a' || s[i] > 'z'))
            return false;
    }
    return s[ROOM_CODE_LEN - 1] == '\0';
}
