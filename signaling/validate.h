/* signaling/validate.h: field rules for user input. Each returns NULL when the
 * value is acceptable, else a short reason suitable for an error message. */
#ifndef SFU_SIGNALING_VALIDATE_H
#define SFU_SIGNALING_VALIDATE_H

/* local@domain.tld, at most 254 bytes, no spaces or control characters. */
const char *validate_email(const char *s);
/* 3-50 characters, each a letter, digit or '_'. */
const char *validate_username(const char *s);
/* At least 8 characters (code points), at most 128. */
const char *validate_password(const char *s);
/* NULL, or why a (length-valid) password is too easy to guess: a common one,
 * the username, the email address or its local part, one character repeated. */
const char *validate_password_strength(const char *password, const char *username,
                                       const char *email);
/* 1-100 characters (code points) after trimming, valid UTF-8, no control characters. */
const char *validate_room_name(const char *s);
/* 1-4000 characters (code points), valid UTF-8, not only whitespace. */
const char *validate_message_content(const char *s);

#endif
